// Each figure of an example opens at full size when clicked: the clinical
// sheets carry a 1 mm grid that the page's width cannot show.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("img.sphx-glr-single-img, img.sphx-glr-multi-img").forEach(function (img) {
    if (img.closest("a")) {
      return;
    }
    var link = document.createElement("a");
    link.href = img.getAttribute("src");
    var srcset = img.getAttribute("srcset");
    if (srcset) {
      // The largest rendering: the last "URL 2x" entry.
      var entries = srcset.split(",").map(function (s) { return s.trim().split(/\s+/)[0]; });
      link.href = entries[entries.length - 1];
    }
    link.title = "Open the figure at full size";
    link.className = "sklearn-ecg-full-size";
    img.parentNode.insertBefore(link, img);
    link.appendChild(img);
  });
});
