"""certificates: issue, render, verify and revoke signed Open Badges 3.0 credentials."""
