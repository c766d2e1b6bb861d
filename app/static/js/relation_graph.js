/* Relation graph (CUS-4): an ECharts force-layout graph around one customer, from the JSON endpoint
   CustomerRelationView.graph. Usage: <div class="relation-graph" data-url="..." data-individual="个人"
   data-corporate="企业" data-masked="..."></div>; nodes open the customer's 360 page when clicked. */
(function () {
  "use strict";
  var COLOURS = {individual: "#3a87ad", corporate: "#e67e22", masked: "#b0b0b0"};

  function draw(element) {
    var chart = echarts.init(element);
    chart.showLoading();
    fetch(element.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        chart.hideLoading();
        if (!data.edges.length) {
          element.style.height = "auto";
          element.innerHTML = '<p class="text-muted">' + (element.dataset.empty || "") + "</p>";
          chart.dispose();
          return;
        }
        var categories = [
          {name: element.dataset.individual, itemStyle: {color: COLOURS.individual}},
          {name: element.dataset.corporate, itemStyle: {color: COLOURS.corporate}},
          {name: element.dataset.masked, itemStyle: {color: COLOURS.masked}}
        ];
        var nodes = data.nodes.map(function (n) {
          return {
            id: n.id, name: n.name + (n.code ? "\n" + n.code : ""), url: n.url,
            category: n.masked ? 2 : (n.kind === "individual" ? 0 : 1),
            symbolSize: n.start ? 58 : Math.max(26, 44 - 8 * n.depth),
            symbol: n.kind === "individual" ? "circle" : "roundRect",
            itemStyle: n.start ? {borderColor: "#333", borderWidth: 3} : undefined,
            label: {show: true, position: "bottom", fontSize: 12}
          };
        });
        var links = data.edges.map(function (e) {
          return {
            source: e.source, target: e.target, value: e.label,
            symbol: e.symmetric ? ["none", "none"] : ["none", "arrow"],
            label: {show: true, formatter: e.label, fontSize: 11, color: "#555"},
            lineStyle: {type: e.symmetric ? "dashed" : "solid"}
          };
        });
        chart.setOption({
          tooltip: {formatter: function (p) { return p.dataType === "edge" ? p.data.value : p.data.name.replace("\n", " "); }},
          legend: [{data: categories.map(function (c) { return c.name; }), top: 0}],
          animationDurationUpdate: 500,
          series: [{
            type: "graph", layout: "force", roam: true, draggable: true, categories: categories,
            data: nodes, links: links, edgeSymbolSize: 8,
            force: {repulsion: 600, edgeLength: [100, 180], gravity: 0.12}, top: 40, bottom: 20,
            lineStyle: {width: 1.6, curveness: 0.12, opacity: 0.9},
            emphasis: {focus: "adjacency"}
          }]
        });
        chart.on("click", function (p) {
          if (p.dataType === "node" && p.data.url) { window.location.href = p.data.url; }
        });
        window.addEventListener("resize", function () { chart.resize(); });
        window.addEventListener("beforeprint", function () { chart.resize(); });
      })
      .catch(function () {
        chart.hideLoading();
        element.style.height = "auto";
        element.innerHTML = '<p class="text-danger">' + (element.dataset.failed || "") + "</p>";
      });
  }

  function init() {
    var elements = document.querySelectorAll(".relation-graph");
    for (var i = 0; i < elements.length; i++) {
      var element = elements[i];
      if (element.offsetWidth > 0 || !window.IntersectionObserver) { draw(element); continue; }
      // in a tab not shown yet: draw when it becomes visible (a hidden chart would have no size)
      var observer = new IntersectionObserver(function (entries, obs) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) { obs.unobserve(entry.target); draw(entry.target); }
        });
      });
      observer.observe(element);
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
