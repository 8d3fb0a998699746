// The API docs (Redoc) load nothing from the internet: Redoc's sidebar credit shows a
// logo from cdn.redoc.ly, which the Content-Security-Policy refuses (a console error, and
// a request to another host when the policy is off). Loaded before Redoc, this points
// that one image at the site's own icon instead.
(function () {
  "use strict";
  var script = document.currentScript;
  var local = script && script.getAttribute("data-logo");
  var remote = /^https?:\/\/cdn\.redoc\.ly\//;
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this.tagName === "IMG" && name === "src" && remote.test(String(value))) {
      value = local || "";
    }
    return setAttribute.call(this, name, value);
  };
  var descriptor = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: descriptor.enumerable,
    get: descriptor.get,
    set: function (value) {
      descriptor.set.call(this, remote.test(String(value)) ? local || "" : value);
    },
  });
})();
