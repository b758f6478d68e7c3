// Hearth's own script: small additions on top of htmx. Everything works without it.
(function () {
  "use strict";
  // After an htmx swap, move focus to the new main content so screen readers hear the change.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "main" && typeof target.focus === "function") target.focus();
  });
  // Buttons marked data-print print the page (letters and sign-in sheets).
  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest("[data-print]");
    if (el) { event.preventDefault(); window.print(); }
  });
  // Buttons marked data-fullscreen (the assembly display) toggle full screen; shown only where it works.
  document.addEventListener("htmx:load", function (event) {
    if (!document.fullscreenEnabled || !event.target.querySelectorAll) return;
    event.target.querySelectorAll("[data-fullscreen]").forEach(function (b) { b.hidden = false; });
  });
  document.addEventListener("click", function (event) {
    if (!(event.target.closest && event.target.closest("[data-fullscreen]"))) return;
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen();
  });
  // A poller (data-poll) whose session has ended gets the sign-in page: load it whole, never swap it in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt, url = event.detail.xhr && event.detail.xhr.responseURL;
    if (elt.hasAttribute && elt.hasAttribute("data-poll") && url &&
        new URL(url).pathname !== new URL(elt.getAttribute("hx-get"), window.location.href).pathname) {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });
  // Elements marked data-expires="N" (Undo after an award) hide themselves after N seconds.
  document.addEventListener("htmx:load", function (event) {
    var root = event.target;
    if (!root.querySelectorAll) return;
    var found = [].slice.call(root.querySelectorAll("[data-expires]"));
    if (root.hasAttribute("data-expires")) found.push(root);
    found.forEach(function (el) {
      setTimeout(function () { el.hidden = true; }, 1000 * (+el.getAttribute("data-expires") || 8));
    });
  });
  // The post editor: files upload one at a time as soon as they are chosen, with progress; a
  // failed upload can be tried again. The text typed in the form is never touched.
  document.documentElement.classList.add("js");
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) { return key in values ? values[key] : m; });
  }
  function limitFor(form, file) {
    var type = file.type || "";
    if (type.indexOf("image/") === 0) return +form.getAttribute("data-max-image");
    if (type.indexOf("video/") === 0) return +form.getAttribute("data-max-video");
    return +form.getAttribute("data-max-document");
  }
  function uploadOne(form, file, row) {
    return new Promise(function (resolve) {
      var data = new FormData(), xhr = new XMLHttpRequest(), bar = row.querySelector("progress");
      data.append("file", file);
      data.append("csrf_token", form.querySelector("[name=csrf_token]").value);
      var audience = form.querySelector("[name=audience]");
      if (audience) data.append("audience", audience.value);
      xhr.open("POST", form.getAttribute("data-uploader"));
      xhr.setRequestHeader("X-CSRFToken", data.get("csrf_token"));
      xhr.setRequestHeader("HX-Request", "true");
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = e.loaded / e.total; };
      xhr.onload = function () {
        if (xhr.status === 200) {
          var holder = document.createElement("div");
          holder.innerHTML = xhr.responseText;
          var item = holder.firstElementChild;
          form.querySelector("#media-items").appendChild(item);
          row.remove();
          if (window.htmx) window.htmx.process(item);
        } else if (xhr.status === 422) {
          failed(form, file, row, xhr.responseText, false);
        } else {
          failed(form, file, row, null, true);
        }
        resolve();
      };
      xhr.onerror = function () { failed(form, file, row, null, true); resolve(); };
      xhr.send(data);
    });
  }
  function failed(form, file, row, html, canRetry) {
    row.textContent = "";
    var message = document.createElement("p");
    message.className = "error";
    message.setAttribute("role", "alert");
    if (html) { var holder = document.createElement("div"); holder.innerHTML = html; message.textContent = holder.textContent.trim(); }
    else message.textContent = fill(form.getAttribute("data-failed"), {name: file.name});
    row.appendChild(message);
    if (canRetry) {
      var retry = document.createElement("button");
      retry.type = "button"; retry.className = "secondary"; retry.textContent = form.getAttribute("data-retry");
      retry.addEventListener("click", function () { start(form, [file]); row.remove(); });
      row.appendChild(retry);
    }
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "link"; remove.textContent = form.getAttribute("data-remove");
    remove.addEventListener("click", function () { row.remove(); });
    row.appendChild(remove);
  }
  function start(form, files) {
    var status = form.querySelector("#upload-status"), queue = Promise.resolve();
    files.forEach(function (file) {
      var row = document.createElement("div"), label = document.createElement("span"), bar = document.createElement("progress");
      row.className = "upload-row";
      label.textContent = fill(form.getAttribute("data-uploading"), {name: file.name});
      bar.max = 1; bar.value = 0;
      row.appendChild(label); row.appendChild(bar); status.appendChild(row);
      var limit = limitFor(form, file);
      if (limit && file.size > limit) {
        failed(form, file, row, null, false);
        row.querySelector(".error").textContent = fill(form.getAttribute("data-too-big"), {
          name: file.name, size: Math.ceil(file.size / 1048576), limit: Math.floor(limit / 1048576)});
        return;
      }
      form.busy = (form.busy || 0) + 1;
      queue = queue.then(function () { return uploadOne(form, file, row); })
        .then(function () { if (!--form.busy) form.warned = false; });
    });
  }
  // A form marked data-wait is not sent while a photo is still uploading, unless asked twice.
  document.addEventListener("submit", function (event) {
    var form = event.target, wait = form.getAttribute("data-wait");
    if (!wait || !form.busy || form.warned) return;
    event.preventDefault();
    form.warned = true;
    var message = document.createElement("p");
    message.className = "error"; message.setAttribute("role", "alert"); message.textContent = wait;
    form.querySelector("#upload-status").appendChild(message);
  }, true);
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input.matches && input.matches("input[type=file][data-upload]"))) return;
    var form = input.form;
    if (!form || !form.getAttribute("data-uploader") || !window.FormData || !window.Promise) return;
    var files = [].slice.call(input.files);
    input.value = "";
    start(form, files);
  });
})();
