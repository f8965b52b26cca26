"""The sandbox shell's shortcut for the module of a cell's frame gives inspect's own answers."""

from __future__ import annotations

import inspect
import json
import sys

import pytest

from grader.sandbox.kernel import cell_aware_getmodule

CELL = "<ipython-input-3-0123456789ab>"


def _cell_traceback():
    code = compile("def f():\n    raise ValueError('x')\nf()\n", CELL, "exec")
    try:
        exec(code, {})
    except ValueError:
        return code, sys.exc_info()[2]
    raise AssertionError("the cell did not raise")


def _objects():
    code, tb = _cell_traceback()
    cell_tb = tb.tb_next  # the cell's module-level frame, then f's frame
    return [code, cell_tb, cell_tb.tb_frame, cell_tb.tb_next.tb_frame, tb, tb.tb_frame,
            json, json.dumps, json.JSONDecoder, inspect.currentframe(), _objects.__code__]


@pytest.mark.parametrize("index", range(11))
def test_same_answer_as_inspect(index):
    obj = _objects()[index]
    fast = cell_aware_getmodule({CELL: 3}, inspect.getmodule)
    assert fast(obj) is inspect.getmodule(obj)
    assert fast(obj, CELL) is inspect.getmodule(obj, CELL)


def test_cell_frames_skip_the_scan():
    calls = []

    def counting(value, _filename=None):
        calls.append(value)
        return inspect.getmodule(value, _filename)

    code, tb = _cell_traceback()
    fast = cell_aware_getmodule({CELL: 3}, counting)
    assert fast(tb.tb_next) is None and fast(code) is None and fast(tb.tb_next.tb_frame) is None
    assert calls == []
    assert fast(json.dumps) is json
    assert calls == [json.dumps]


def test_unknown_file_names_take_the_full_lookup():
    calls = []
    fast = cell_aware_getmodule({}, lambda value, _filename=None: calls.append(value))
    code, _tb = _cell_traceback()
    fast(code)
    assert calls == [code]
