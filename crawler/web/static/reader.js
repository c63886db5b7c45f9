// Local times: the server prints UTC (pages work without this script); with it, every
// <time data-local> shows the reader's own time zone. No network, no inline code.
(function () {
  "use strict";
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat("ar", { dateStyle: "medium", timeStyle: "short" });
  } catch (e) {
    return;
  }
  var nodes = document.querySelectorAll("time[data-local]");
  for (var i = 0; i < nodes.length; i++) {
    var d = new Date(nodes[i].getAttribute("datetime"));
    if (!isNaN(d.getTime())) {
      nodes[i].title = nodes[i].textContent;
      nodes[i].textContent = fmt.format(d);
    }
  }
})();
