// The exam page: save each answer as the candidate gives it, and show the server's time left.
// The server decides everything: this script only sends answers and counts down what the
// page said was left; at zero it reloads, and the server shows the result.
(function () {
  "use strict";
  var form = document.getElementById("exam-form");
  if (!form) { return; }
  var token = form.querySelector("input[name=csrf_token]").value;
  var savedText = form.dataset.savedText;

  function answerOf(fieldset) {
    var type = fieldset.dataset.type;
    var inputs = fieldset.querySelectorAll("input, select");
    if (type === "single") {
      var checked = fieldset.querySelector("input:checked");
      return checked ? checked.value : null;
    }
    if (type === "multiple") {
      return Array.prototype.map.call(fieldset.querySelectorAll("input:checked"), function (i) { return i.value; });
    }
    if (type === "numeric") { return inputs[0].value.trim() || null; }
    if (type === "ordering") {
      var order = Array.prototype.map.call(inputs, function (s) { return s.value; });
      return order.every(Boolean) ? order : null;
    }
    if (type === "matching") {
      var pairs = {}, complete = true;
      Array.prototype.forEach.call(inputs, function (s) {
        var left = s.name.slice(s.name.lastIndexOf("-") + 1);
        if (!s.value) { complete = false; }
        pairs[left] = s.value;
      });
      return complete ? pairs : null;
    }
    return null;
  }

  // One save in flight per item: a change made meanwhile is sent when it returns, so the
  // server never receives an older answer after a newer one.
  var inFlight = {}, again = {};

  function save(fieldset) {
    var item = fieldset.dataset.item;
    var status = fieldset.querySelector(".status");
    if (inFlight[item]) { again[item] = true; status.textContent = "…"; return; }
    inFlight[item] = true;
    again[item] = false;
    status.textContent = "…";
    function done() {
      inFlight[item] = false;
      if (again[item]) { save(fieldset); }
    }
    fetch(form.dataset.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
      body: JSON.stringify({item: item, answer: answerOf(fieldset)})
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!again[item]) {
          status.textContent = response.ok ? savedText : (body.message || response.statusText);
        }
        if (response.status === 409) { window.location.reload(); }
        done();
      });
    }).catch(function () {
      status.textContent = "! offline: your answer is sent again when you change it or submit / 未送信";
      done();
    });
  }

  var timers = {};
  Array.prototype.forEach.call(form.querySelectorAll("fieldset.item"), function (fieldset) {
    fieldset.addEventListener("change", function () { save(fieldset); });
    fieldset.addEventListener("input", function (event) {
      if (event.target.type !== "text") { return; }
      clearTimeout(timers[fieldset.dataset.item]);
      timers[fieldset.dataset.item] = setTimeout(function () { save(fieldset); }, 800);
    });
  });

  // Part B: collect the task notebooks every two minutes, so an answer never waits for the end.
  var partB = document.getElementById("part-b");
  if (partB) {
    setInterval(function () {
      fetch(partB.dataset.collectUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
        body: "{}"
      }).then(function (response) { return response.json(); }).then(function (body) {
        Array.prototype.forEach.call(partB.querySelectorAll("tr[data-task]"), function (row) {
          var problem = body.problems && body.problems[row.dataset.task];
          row.querySelector(".collected").textContent = problem || partB.dataset.collectedText;
        });
      }).catch(function () { /* collected again at the next tick, on submit and at the deadline */ });
    }, 120000);
  }

  var timer = document.getElementById("timer");
  var clock = document.getElementById("clock");
  var remaining = parseInt(timer.dataset.remaining, 10);
  var started = performance.now();
  function tick() {
    var left = Math.max(0, remaining - Math.floor((performance.now() - started) / 1000));
    var seconds = left % 60;
    clock.textContent = Math.floor(left / 60) + ":" + (seconds < 10 ? "0" : "") + seconds;
    if (left === 0) { window.location.assign(timer.dataset.expiredUrl); return; }
    setTimeout(tick, 1000);
  }
  tick();
}());
