/*
 * csbot widget: pictures in chat (plain JS, no build step). Load after widget.js.
 *
 * Adds an attach button to the composer; a picture can also be pasted into the
 * input or dropped on the panel. It is checked here (an image, at most 8 MB), shown
 * at once as a thumbnail in the conversation, and sent to POST /api/chat/image/ with
 * the conversation id. The answer says what was read from it; the bot's reply frames
 * are handed to the widget (window.csbot.handleFrame) when it offers that, and
 * otherwise arrive over the widget's own socket like any reply.
 *
 * Thumbnails of stored pictures (history after a reload, other tabs) are added to
 * shopper messages whose frame carries `image`, when the widget announces each drawn
 * frame with a `csbot:frame` event ({frame, node}) on #csbot-root.
 *
 * All text goes in with textContent; picture URLs must be same-origin paths.
 */
(function () {
  "use strict";

  var root = document.getElementById("csbot-root");
  if (!root || !window.fetch || !window.FormData) return;

  var MAX_BYTES = Number(root.getAttribute("data-image-max-bytes")) || 8 * 1024 * 1024;
  var UPLOAD_URL = root.getAttribute("data-image-url") || "/api/chat/image/";
  var LANG = (document.documentElement.lang || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var STRINGS = {
    zh: {
      attach: "发送图片",
      dropHere: "松开即可发送图片",
      notImage: "只能发送图片（JPEG、PNG、WebP 或 GIF）。",
      tooLarge: "图片太大了，请发送 8 MB 以内的图片。",
      uploading: "图片上传中…",
      reading: "正在识别图片…",
      read: "识别到：",
      nothing: "未识别到文字或商品",
      failed: "图片未发送：",
      network: "网络错误，请稍后再试。",
      alt: "您发送的图片",
    },
    en: {
      attach: "Send a picture",
      dropHere: "Drop to send the picture",
      notImage: "Only pictures can be sent (JPEG, PNG, WebP or GIF).",
      tooLarge: "The picture is too large; please send one under 8 MB.",
      uploading: "Uploading picture…",
      reading: "Reading the picture…",
      read: "Read: ",
      nothing: "No text or product found",
      failed: "Picture not sent: ",
      network: "Network error; please try again.",
      alt: "Your picture",
    },
  };

  function t(key) {
    return STRINGS[LANG][key];
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(child);
    });
    return node;
  }

  /** Only same-origin paths become image sources. */
  function safePath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : null;
  }

  function conversationId() {
    if (window.csbot && typeof window.csbot.conversationId === "function") {
      return window.csbot.conversationId() || "";
    }
    try {
      return window.sessionStorage.getItem("csbot.conversation") || "";
    } catch (e) {
      return "";
    }
  }

  function list() {
    return document.getElementById("csbot-messages");
  }

  /** Insert in seq order, as the widget does; unsent items stay last. */
  function place(node, order) {
    var target = list();
    if (!target) return;
    node.setAttribute("data-order", String(order));
    var items = target.children;
    for (var i = 0; i < items.length; i++) {
      if (Number(items[i].getAttribute("data-order")) > order) {
        target.insertBefore(node, items[i]);
        return;
      }
    }
    target.appendChild(node);
  }

  function scrollDown() {
    var log = document.getElementById("csbot-log");
    if (log) log.scrollTop = log.scrollHeight;
  }

  function toast(text) {
    var box = document.getElementById("csbot-toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    window.setTimeout(function () {
      box.hidden = true;
    }, 4000);
  }

  function imageBubble(src) {
    var img = el("img", { class: "csbot-image-thumb", alt: t("alt") });
    if (src) img.src = src;
    var bubble = el("div", { class: "csbot-bubble csbot-image-bubble" }, [img]);
    var meta = el("div", { class: "csbot-meta csbot-image-meta", text: t("uploading") });
    var node = el("li", { class: "csbot-msg csbot-shopper csbot-has-image", "data-state": "pending" }, [
      bubble,
      meta,
    ]);
    return { node: node, img: img, meta: meta };
  }

  function describe(info) {
    if (!info || info.status === "pending") return t("reading");
    if (info.outcome === "nothing") return t("nothing");
    var text = String(info.text || "").replace(/\s+/g, " ").trim();
    if (text.length > 60) text = text.slice(0, 60) + "…";
    return text ? t("read") + text : "";
  }

  function settle(view, body) {
    var info = body.image || {};
    var handle = window.csbot && typeof window.csbot.handleFrame === "function" ? window.csbot.handleFrame : null;
    if (handle && body.message && body.message.seq) {
      // The widget draws the stored frame itself (and dedups it by seq); its
      // csbot:frame event brings the thumbnail back through decorate().
      if (view.node.parentNode) view.node.parentNode.removeChild(view.node);
      handle(body.message);
      (body.replies || []).forEach(function (frame) {
        handle(frame);
      });
      scrollDown();
      return;
    }
    var thumb = safePath(info.thumbnail_url);
    if (thumb) view.img.src = thumb;
    view.node.setAttribute("data-image-id", String(info.id || ""));
    view.node.setAttribute("data-state", "sent");
    view.meta.textContent = describe(info);
    if (body.seq) {
      view.node.setAttribute("data-seq", String(body.seq));
      if (view.node.parentNode) view.node.parentNode.removeChild(view.node);
      place(view.node, Number(body.seq));
    }
    scrollDown();
  }

  function fail(view, message) {
    view.node.setAttribute("data-state", "failed");
    view.meta.textContent = t("failed") + message;
    scrollDown();
  }

  function send(file) {
    if (!file) return;
    if (!/^image\//.test(file.type || "")) {
      toast(t("notImage"));
      return;
    }
    if (file.size > MAX_BYTES) {
      toast(t("tooLarge"));
      return;
    }
    var local = window.URL && window.URL.createObjectURL ? window.URL.createObjectURL(file) : null;
    var view = imageBubble(local);
    place(view.node, Number.MAX_SAFE_INTEGER);
    var greeting = document.querySelector(".csbot-greeting");
    if (greeting) greeting.classList.add("csbot-has-history");
    scrollDown();
    var form = new window.FormData();
    form.append("image", file, file.name || "picture");
    var id = conversationId();
    if (id) form.append("conversation_id", id);
    view.meta.textContent = t("reading");
    window
      .fetch(UPLOAD_URL, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: form,
      })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { ok: response.ok, body: body };
          },
          function () {
            return { ok: false, body: {} };
          }
        );
      })
      .then(function (result) {
        if (result.ok) {
          settle(view, result.body);
        } else {
          var error = result.body && result.body.error;
          fail(view, (error && error.message) || t("network"));
        }
      })
      .catch(function () {
        fail(view, t("network"));
      })
      .then(function () {
        if (local && (view.img.src !== local || !view.node.parentNode)) window.URL.revokeObjectURL(local);
      });
  }

  /** A shopper message the widget drew from a stored frame with a picture: shown as
   * the thumbnail and what was read from it, like a picture sent from this tab. */
  function decorate(frame, node) {
    if (!frame || frame.type !== "shopper" || !frame.image || !node) return;
    if (node.querySelector(".csbot-image-thumb")) return;
    var thumb = safePath(frame.image.thumbnail_url);
    if (!thumb) return;
    node.classList.add("csbot-has-image");
    if (!node.getAttribute("data-state")) node.setAttribute("data-state", "sent");
    node.setAttribute("data-image-id", String(frame.image.id || ""));
    var text = node.querySelector(".csbot-bubble");
    if (text) text.parentNode.removeChild(text);
    var img = el("img", { class: "csbot-image-thumb", alt: t("alt"), src: thumb });
    node.insertBefore(el("div", { class: "csbot-bubble csbot-image-bubble" }, [img]), node.firstChild);
    var meta = node.querySelector(".csbot-meta");
    if (meta) meta.parentNode.removeChild(meta);
    node.appendChild(el("div", { class: "csbot-meta csbot-image-meta", text: describe(frame.image) }));
  }

  function firstImage(items) {
    for (var i = 0; i < (items ? items.length : 0); i++) {
      var item = items[i];
      var file = item && typeof item.getAsFile === "function" ? item.getAsFile() : item;
      if (file && /^image\//.test(file.type || "")) return file;
    }
    return null;
  }

  function bind() {
    var bar = document.querySelector("#csbot-form .csbot-composer-bar");
    var input = document.getElementById("csbot-input");
    var panel = document.getElementById("csbot-panel");
    if (!bar || !input || !panel) return false;

    var picker = el("input", {
      type: "file",
      accept: "image/jpeg,image/png,image/webp,image/gif",
      id: "csbot-image-input",
      class: "csbot-image-input",
      hidden: "hidden",
      tabindex: "-1",
    });
    var button = el("button", {
      type: "button",
      id: "csbot-attach",
      class: "csbot-attach",
      "aria-label": t("attach"),
      title: t("attach"),
    });
    button.appendChild(el("span", { class: "csbot-attach-icon", "aria-hidden": "true" }));
    bar.insertBefore(button, bar.firstChild);
    bar.appendChild(picker);
    button.addEventListener("click", function () {
      picker.click();
    });
    picker.addEventListener("change", function () {
      var file = picker.files && picker.files[0];
      picker.value = "";
      send(file);
    });

    input.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      var file = data && (firstImage(data.files) || firstImage(data.items));
      if (file) {
        event.preventDefault();
        send(file);
      }
    });

    var overlay = el("div", { class: "csbot-drop", id: "csbot-drop", hidden: "hidden", text: t("dropHere") });
    panel.appendChild(overlay);
    var depth = 0;
    function hasFiles(event) {
      var types = event.dataTransfer && event.dataTransfer.types;
      return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
    }
    panel.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      overlay.hidden = false;
    });
    panel.addEventListener("dragover", function (event) {
      if (hasFiles(event)) event.preventDefault();
    });
    panel.addEventListener("dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (!depth) overlay.hidden = true;
    });
    panel.addEventListener("drop", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      overlay.hidden = true;
      send(firstImage(event.dataTransfer.files));
    });

    root.addEventListener("csbot:frame", function (event) {
      var detail = event.detail || {};
      decorate(detail.frame, detail.node);
    });
    return true;
  }

  if (!bind()) {
    // The widget builds its panel as it loads; try again once the page is ready.
    document.addEventListener("DOMContentLoaded", bind);
  }

  window.csbotImage = { send: send, decorate: decorate };
})();
