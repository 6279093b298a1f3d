// Draws every chart from the JSON next to it, and follows background jobs until they finish.
(function () {
  "use strict";

  function drawCharts() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-figure"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      var given = figure.layout || {};
      var layout = Object.assign({
        font: { family: "Arial, Helvetica, sans-serif", size: 14, color: "#0b0c0c" },
        legend: { orientation: "h", y: -0.28 },
        hovermode: "x unified"
      }, given);
      layout.margin = Object.assign({ l: 80, r: 20, t: 10, b: 90 }, given.margin || {});
      ["xaxis", "yaxis"].forEach(function (axis) {
        layout[axis] = Object.assign({ automargin: true }, given[axis] || {});
      });
      Plotly.newPlot(el, figure.data, layout, { displaylogo: false, responsive: true });
    });
  }

  // A finished job offers a button instead of reloading the page under a user who has typed in
  // or sent a form: a reload would wipe what they typed or cancel what they sent.
  var sending = false;
  document.addEventListener("submit", function () { sending = true; });

  function fieldEdited(field) {
    if (field.type === "hidden" || field.type === "submit" || field.type === "button") { return false; }
    if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
    if (field.tagName === "SELECT") {
      var initial = 0;
      for (var i = 0; i < field.options.length; i++) {
        if (field.options[i].defaultSelected) { initial = i; break; }
      }
      return field.selectedIndex !== initial;
    }
    return field.value !== field.defaultValue;
  }

  function userBusy() {
    return sending || Array.prototype.some.call(document.querySelectorAll("input, select, textarea"), fieldEdited);
  }

  function showPage(page) {
    if (window.location.search) {
      window.location.assign(page);
    } else {
      window.location.reload();
    }
  }

  function showFinished(el, page) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--link";
    button.textContent = "Show the results";
    button.addEventListener("click", function () { showPage(page); });
    el.replaceChildren(document.createTextNode("Finished. "), button);
    el.setAttribute("data-job-finished", "");
  }

  function followJob(el) {
    var url = el.getAttribute("data-job-url");
    var bar = el.querySelector("progress");
    var text = el.querySelector("[data-job-message]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (job) {
          if (bar) { bar.value = Math.round((job.progress || 0) * 100); }
          if (text) { text.textContent = job.message + " (" + Math.round((job.progress || 0) * 100) + "%)"; }
          if (job.status === "succeeded" || job.status === "failed") {
            var page = window.location.pathname + window.location.hash;
            if (userBusy()) {
              showFinished(el, page);
            } else {
              showPage(page);
            }
          } else {
            window.setTimeout(poll, 700);
          }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    poll();
  }

  // A chart drawn while its <details> was closed has no width: fit it when the section opens.
  function fitChartsWhenOpened(details) {
    details.addEventListener("toggle", function () {
      if (!details.open || typeof Plotly === "undefined") { return; }
      details.querySelectorAll(".chart[data-figure]").forEach(function (el) {
        Plotly.Plots.resize(el);
      });
    });
  }

  // A link to a closed section (#its-id) opens it.
  function openLinkedSection() {
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.querySelectorAll("details").forEach(fitChartsWhenOpened);
    openLinkedSection();
    window.addEventListener("hashchange", openLinkedSection);
    document.querySelectorAll("[data-job-url]").forEach(followJob);
  });
}());
