// Runs kaigai widgets without Jupyter: each <script type="application/vnd.kaigai-widget+json"> holds a
// widget's ES module and state (written by kaigai_lib.teaching.static_widgets.standalone_html); a tiny model
// object stands in for the kernel's. Used by the {kaigai-exercise} directive and `kaigai exercises page`.
(function () {
  function makeModel(state) {
    var listeners = {};
    return {
      get: function (name) { return state[name]; },
      set: function (name, value) {
        state[name] = value;
        (listeners["change:" + name] || []).slice().forEach(function (f) { f(); });
      },
      save_changes: function () {},
      send: function () {},
      on: function (name, f) { (listeners[name] = listeners[name] || []).push(f); },
      off: function (name, f) {
        if (!f) { delete listeners[name]; return; }
        listeners[name] = (listeners[name] || []).filter(function (g) { return g !== f; });
      },
    };
  }
  function mount(script) {
    var data = JSON.parse(script.textContent);
    if (data.css && !document.getElementById("kaigai-widget-css")) {
      var style = document.createElement("style");
      style.id = "kaigai-widget-css";
      style.textContent = data.css;
      document.head.appendChild(style);
    }
    var url = URL.createObjectURL(new Blob([data.esm], { type: "text/javascript" }));
    return import(url).then(function (module) {
      URL.revokeObjectURL(url);
      var el = document.createElement("div");
      el.className = "kaigai-widget-host";
      script.parentNode.insertBefore(el, script.nextSibling);
      return module.default.render({ model: makeModel(data.state), el: el });
    });
  }
  function mountAll() {
    document.querySelectorAll('script[type="application/vnd.kaigai-widget+json"]').forEach(function (s) {
      mount(s).catch(function (error) { console.error("kaigai widget failed to start", error); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
