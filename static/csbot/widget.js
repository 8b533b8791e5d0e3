/*
 * csbot chat widget for 星河商城 (plain JS, no framework, no build step).
 *
 * Speaks the shopper WebSocket protocol of docs/protocol.md §3 on /ws/chat/.
 * - Every piece of server or shopper text is inserted with textContent, never
 *   innerHTML, and card links must stay on this site.
 * - The conversation id, the last seq seen, the open state and unacknowledged
 *   messages live in sessionStorage (this tab, survives reloads). After a reload
 *   the widget resumes with after_seq 0 and redraws the history; after a dropped
 *   socket it resumes from the last seq it has drawn. Frames are deduplicated by
 *   seq, so a frame that arrives twice is drawn once.
 * - Unacknowledged messages are sent again after a reconnect with the same
 *   client_msg_id; the server stores each client_msg_id once.
 * - Reconnects back off exponentially (1 s doubling to 30 s, with jitter).
 *
 * Page hooks: #csbot-root (data-ws-path, data-shop-name, data-privacy-url);
 * any [data-csbot-open] element opens the panel ([data-csbot-draft] pre-fills
 * the input); window.csbot = {open, close, reset}.
 */
(function () {
  "use strict";

  var root = document.getElementById("csbot-root");
  if (!root || !window.WebSocket || !document.querySelector) {
    return;
  }

  var MAX_CHARS = 2000;
  var LANG = (document.documentElement.lang || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var WS_PATH = root.getAttribute("data-ws-path") || "/ws/chat/";
  var PRIVACY_URL = root.getAttribute("data-privacy-url") || "/privacy/";
  var SHOP_NAME = root.getAttribute("data-shop-name") || (LANG === "zh" ? "星河商城" : "Xinghe Mall");

  var STRINGS = {
    zh: {
      launcherOpen: "打开在线客服",
      launcherClose: "关闭在线客服",
      title: "{shop} 客服",
      botName: "星河小助手",
      agentName: "人工客服",
      connecting: "连接中…",
      online: "在线 · 通常秒回",
      reconnecting: "连接断开，正在重连…",
      offline: "网络已断开，恢复后自动重连",
      withAgent: "人工客服 {agent} 为您服务",
      close: "关闭",
      human: "转人工",
      humanTitle: "转接人工客服",
      privacyMore: "隐私政策",
      greeting: "您好，我是星河小助手！商品、运费、订单、退换货都可以问我，也可以随时转人工。",
      starters: ["运费怎么算？", "X5 支持无线充电吗？", "怎么退货？", "查询我的订单"],
      placeholder: "请输入您的问题",
      inputLabel: "输入消息，Enter 发送，Shift+Enter 换行",
      send: "发送",
      sending: "发送中…",
      failed: "未发送",
      retry: "重试",
      tooLong: "消息太长了，请控制在 2000 字以内。",
      helpful: "有帮助",
      notHelpful: "没帮助",
      thanksFeedback: "感谢反馈",
      queued: "已为您转接人工客服，请稍候",
      queuedPos: "已为您转接人工客服，您排在第 {n} 位",
      queuedBar: "排队中 · 第 {n} 位",
      queuedBarNoPos: "正在为您转接人工客服…",
      queuedWait: "预计等待约 {m} 分钟",
      afterHoursBar: "非人工服务时间 · 已为您排队，第 {n} 位",
      agentTyping: "{agent} 正在输入…",
      assigned: "人工客服已接入",
      returned: "已转回智能助手为您服务",
      closed: "本次人工服务已结束",
      csatQuestion: "请为本次人工服务打分",
      csatThanks: "感谢您的评价！",
      star: "{n} 分",
      viewProduct: "查看",
      inStock: "有货",
      lowStock: "仅剩 {n} 件",
      soldOut: "缺货",
      order: "订单 {no}",
      total: "合计",
      tracking: "运单号",
      unread: "{n} 条新消息",
      newChat: "新对话",
      typing: "正在输入",
    },
    en: {
      launcherOpen: "Open customer service chat",
      launcherClose: "Close customer service chat",
      title: "{shop}",
      botName: "Xinghe Assistant",
      agentName: "Agent",
      connecting: "Connecting…",
      online: "Online",
      reconnecting: "Connection lost, reconnecting…",
      offline: "You are offline; we will reconnect",
      withAgent: "You are chatting with {agent}",
      close: "Close",
      human: "Talk to a human",
      humanTitle: "Talk to a human agent",
      privacyMore: "Privacy policy",
      greeting: "Hi, I'm the Xinghe Assistant! Ask me about products, shipping, orders or returns; a person can take over any time.",
      starters: [
        "How much is shipping?",
        "Does the X5 support wireless charging?",
        "How do I return an item?",
        "Where is my order?",
      ],
      placeholder: "Type your question",
      inputLabel: "Your message. Enter sends, Shift+Enter starts a new line",
      send: "Send",
      sending: "Sending…",
      failed: "Not sent",
      retry: "Retry",
      tooLong: "That message is too long (2000 characters at most).",
      helpful: "Helpful",
      notHelpful: "Not helpful",
      thanksFeedback: "Thanks for the feedback",
      queued: "We are connecting you to a human agent",
      queuedPos: "We are connecting you to a human agent; you are number {n} in the queue",
      queuedBar: "In the queue · position {n}",
      queuedBarNoPos: "Connecting you to a human agent…",
      queuedWait: "about {m} min",
      afterHoursBar: "Agents are offline · you are number {n} for the morning",
      agentTyping: "{agent} is typing…",
      assigned: "A human agent has joined",
      returned: "You are back with the assistant",
      closed: "The agent has ended this chat",
      csatQuestion: "How would you rate the agent's help?",
      csatThanks: "Thank you for rating!",
      star: "{n} of 5",
      viewProduct: "View",
      inStock: "In stock",
      lowStock: "Only {n} left",
      soldOut: "Sold out",
      order: "Order {no}",
      total: "Total",
      tracking: "Tracking",
      unread: "{n} new messages",
      newChat: "New chat",
      typing: "typing",
    },
  };

  function t(key, vars) {
    var text = STRINGS[LANG][key];
    if (vars) {
      Object.keys(vars).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(vars[name]));
      });
    }
    return text;
  }

  // ---------------------------------------------------------------- storage

  var PREFIX = "csbot.";
  var storage = (function () {
    try {
      var s = window.sessionStorage;
      s.setItem(PREFIX + "probe", "1");
      s.removeItem(PREFIX + "probe");
      return s;
    } catch (e) {
      return null;
    }
  })();

  function load(key) {
    return storage ? storage.getItem(PREFIX + key) : null;
  }

  function save(key, value) {
    if (!storage) return;
    try {
      if (value === null || value === undefined) {
        storage.removeItem(PREFIX + key);
      } else {
        storage.setItem(PREFIX + key, String(value));
      }
    } catch (e) {
      /* storage full or blocked: the widget still works for this page */
    }
  }

  function clearStorage() {
    if (!storage) return;
    var doomed = [];
    for (var i = 0; i < storage.length; i++) {
      var key = storage.key(i);
      if (key && key.indexOf(PREFIX) === 0) doomed.push(key);
    }
    doomed.forEach(function (key) {
      storage.removeItem(key);
    });
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return (
      hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20)
    );
  }

  // -------------------------------------------------------------------- DOM

  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: ["M21 11.5a8.5 8.5 0 0 1-12.4 7.6L3 20.5l1.5-5.2A8.5 8.5 0 1 1 21 11.5z", "M8.5 11.5h.01M12.5 11.5h.01M16.5 11.5h.01"],
    close: ["M6 6l12 12M18 6L6 18"],
    minimize: ["M6 12h12"],
    send: ["M4 12l16-8-6 16-2.5-6.5z", "M11.5 13.5L20 4"],
    human: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z", "M4.5 20.5c1-3.8 4-5.5 7.5-5.5s6.5 1.7 7.5 5.5"],
    shield: ["M12 3l7.5 3v5.5c0 4.4-3.2 8.2-7.5 9.5-4.3-1.3-7.5-5.1-7.5-9.5V6z", "M9 12l2.2 2.2L15.5 10"],
    up: ["M7 11v9H4.5a1 1 0 0 1-1-1v-7a1 1 0 0 1 1-1zM7 11l4-7.5c1.4 0 2.5 1.1 2.5 2.5v3h5.3a2 2 0 0 1 2 2.3l-1.2 7a2 2 0 0 1-2 1.7H7"],
    down: ["M17 13V4h2.5a1 1 0 0 1 1 1v7a1 1 0 0 1-1 1zM17 13l-4 7.5c-1.4 0-2.5-1.1-2.5-2.5v-3H5.2a2 2 0 0 1-2-2.3l1.2-7a2 2 0 0 1 2-1.7H17"],
    star: ["M12 3.5l2.6 5.4 5.9.8-4.3 4.1 1 5.8L12 16.8l-5.2 2.8 1-5.8-4.3-4.1 5.9-.8z"],
    box: ["M3.5 7.5L12 3l8.5 4.5v9L12 21l-8.5-4.5z", "M3.5 7.5L12 12l8.5-4.5M12 12v9"],
    truck: ["M3 6.5h11v9H3zM14 9.5h4l3 3v3h-7z", "M7 18.5a1.8 1.8 0 1 0 0-.01M17.5 18.5a1.8 1.8 0 1 0 0-.01"],
    spark: ["M12 3.5l2.1 5.9 5.9 2.6-5.9 2.6L12 20.5l-2.1-5.9L4 12l5.9-2.6z"],
    alert: ["M12 8v5M12 16.5h.01", "M10.3 3.9L2.6 17.5A2 2 0 0 0 4.3 20.5h15.4a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z"],
  };

  function icon(name, size) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size || 20));
    svg.setAttribute("height", String(size || 20));
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "1.9");
    svg.setAttribute("stroke-linecap", "round");
    svg.setAttribute("stroke-linejoin", "round");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    ICONS[name].forEach(function (d) {
      var path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }

  /** el("div", {class: "x", id: "y"}, [children or strings]) – strings become text nodes. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "text") node.textContent = String(value);
        else if (name === "class") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  var ui = {};

  function buildUi() {
    ui.launcher = el("button", {
      type: "button",
      id: "csbot-launcher",
      class: "csbot-launcher",
      "aria-controls": "csbot-panel",
      "aria-expanded": "false",
      "aria-label": t("launcherOpen"),
    });
    ui.launcherOpenIcon = el("span", { class: "csbot-launcher-icon csbot-launcher-chat" }, [icon("chat", 26)]);
    ui.launcherCloseIcon = el("span", { class: "csbot-launcher-icon csbot-launcher-x" }, [icon("close", 24)]);
    ui.unread = el("span", { class: "csbot-unread", id: "csbot-unread", hidden: true });
    ui.launcher.appendChild(ui.launcherOpenIcon);
    ui.launcher.appendChild(ui.launcherCloseIcon);
    ui.launcher.appendChild(ui.unread);

    ui.statusText = el("span", { class: "csbot-status-text", text: t("connecting") });
    ui.status = el("div", { class: "csbot-status", id: "csbot-status", "data-state": "idle" }, [
      el("span", { class: "csbot-dot", "aria-hidden": "true" }),
      ui.statusText,
    ]);
    ui.handoffBtn = el("button", {
      type: "button",
      id: "csbot-handoff",
      class: "csbot-human-btn",
      title: t("humanTitle"),
    }, [icon("human", 16), el("span", { text: t("human") })]);
    ui.closeBtn = el("button", {
      type: "button",
      id: "csbot-close",
      class: "csbot-icon-btn",
      "aria-label": t("close"),
      title: t("close"),
    }, [icon("minimize", 20)]);

    var header = el("header", { class: "csbot-header" }, [
      el("div", { class: "csbot-avatar", "aria-hidden": "true" }, [icon("spark", 22)]),
      el("div", { class: "csbot-titles" }, [
        el("h2", { class: "csbot-title", id: "csbot-title", text: t("title", { shop: SHOP_NAME }) }),
        ui.status,
      ]),
      ui.handoffBtn,
      ui.closeBtn,
    ]);

    ui.handoffBar = el("div", { class: "csbot-handoff-bar", id: "csbot-handoff-status", role: "status", hidden: true });

    ui.privacyText = el("span", { class: "csbot-privacy-text" });
    ui.privacy = el("div", { class: "csbot-privacy", id: "csbot-privacy", hidden: true }, [
      icon("shield", 18),
      el("p", null, [
        ui.privacyText,
        " ",
        el("a", { href: PRIVACY_URL, target: "_blank", rel: "noopener", text: t("privacyMore") }),
      ]),
    ]);

    ui.starters = el("div", { class: "csbot-suggestions csbot-starters", id: "csbot-starters" });
    STRINGS[LANG].starters.forEach(function (text) {
      ui.starters.appendChild(suggestionChip(text));
    });
    ui.greeting = el("div", { class: "csbot-greeting" }, [
      el("div", { class: "csbot-greeting-bubble", text: t("greeting") }),
      ui.starters,
    ]);

    ui.list = el("ol", { class: "csbot-list", id: "csbot-messages" });
    ui.typing = el("div", { class: "csbot-typing", id: "csbot-typing", hidden: true, "aria-label": t("typing") }, [
      el("span"), el("span"), el("span"),
    ]);
    ui.log = el("div", { class: "csbot-log", id: "csbot-log", role: "log", "aria-live": "polite" }, [
      ui.privacy,
      ui.greeting,
      ui.list,
      ui.typing,
    ]);

    ui.toast = el("div", { class: "csbot-toast", id: "csbot-toast", role: "status", hidden: true });

    ui.input = el("textarea", {
      id: "csbot-input",
      class: "csbot-input",
      rows: "1",
      maxlength: String(MAX_CHARS),
      placeholder: t("placeholder"),
      "aria-label": t("inputLabel"),
      autocomplete: "off",
    });
    ui.counter = el("span", { class: "csbot-counter", id: "csbot-counter", "aria-live": "off", text: "0/" + MAX_CHARS });
    ui.send = el("button", {
      type: "submit",
      id: "csbot-send",
      class: "csbot-send",
      "aria-label": t("send"),
      title: t("send"),
      disabled: true,
    }, [icon("send", 18)]);
    ui.form = el("form", { class: "csbot-composer", id: "csbot-form", novalidate: true }, [
      ui.input,
      el("div", { class: "csbot-composer-bar" }, [ui.counter, ui.send]),
    ]);

    ui.panel = el("section", {
      id: "csbot-panel",
      class: "csbot-panel",
      role: "dialog",
      "aria-labelledby": "csbot-title",
      hidden: true,
    }, [header, ui.handoffBar, ui.log, ui.toast, ui.form]);

    root.appendChild(ui.panel);
    root.appendChild(ui.launcher);
    root.classList.add("csbot");
    document.documentElement.classList.add("csbot-ready");
  }

  function suggestionChip(text) {
    var chip = el("button", { type: "button", class: "csbot-chip", text: text });
    chip.addEventListener("click", function () {
      sendText(text);
    });
    return chip;
  }

  // ------------------------------------------------------------------ state

  var state = {
    open: false,
    conversationId: load("conversation"),
    serverConversationId: null,
    switchingTo: null, // the stored conversation a resume has asked to switch to
    ws: null,
    ready: false,
    retries: 0,
    retryTimer: null,
    stopped: false,
    rendered: {}, // seq -> list item
    maxSeq: 0,
    pending: [], // [{id, text, el, failed}] oldest first, not yet acknowledged
    inflight: [], // client_msg_ids sent on this socket, waiting for ack or error
    waiting: {}, // seq of acked shopper messages still waiting for a reply
    typingTimer: null,
    unread: 0,
    seen: Number(load("seen") || 0),
    handoff: null,
    agentName: "",
    connState: "idle",
  };

  function persistPending() {
    var list = state.pending
      .filter(function (p) {
        return !p.failed;
      })
      .map(function (p) {
        return { id: p.id, text: p.text };
      });
    save("pending", list.length ? JSON.stringify(list) : null);
  }

  function restorePending() {
    var raw = load("pending");
    if (!raw) return;
    var list;
    try {
      list = JSON.parse(raw);
    } catch (e) {
      return;
    }
    if (!Array.isArray(list)) return;
    list.forEach(function (item) {
      if (item && typeof item.id === "string" && typeof item.text === "string") {
        var node = renderShopper({ text: item.text, clientMsgId: item.id, seq: null });
        state.pending.push({ id: item.id, text: item.text, el: node, failed: false });
      }
    });
  }

  // -------------------------------------------------------------- rendering

  /** Insert a list item in seq order; items without a seq (unsent) stay last. */
  function place(node, order) {
    node.setAttribute("data-order", String(order));
    var items = ui.list.children;
    for (var i = 0; i < items.length; i++) {
      var other = Number(items[i].getAttribute("data-order"));
      if (other > order) {
        ui.list.insertBefore(node, items[i]);
        return node;
      }
    }
    ui.list.appendChild(node);
    return node;
  }

  function markRendered(seq, node) {
    state.rendered[seq] = node;
    node.setAttribute("data-seq", String(seq));
    place(node, seq);
    if (seq > state.maxSeq) {
      state.maxSeq = seq;
      save("lastSeq", seq);
    }
    ui.greeting.classList.add("csbot-has-history");
  }

  function renderShopper(opts) {
    var node = el("li", { class: "csbot-msg csbot-shopper" }, [
      el("div", { class: "csbot-bubble", text: opts.text }),
    ]);
    if (opts.clientMsgId) node.setAttribute("data-client-msg-id", opts.clientMsgId);
    if (opts.seq) {
      markRendered(opts.seq, node);
    } else {
      setShopperState(node, "pending");
      place(node, Number.MAX_SAFE_INTEGER);
      ui.greeting.classList.add("csbot-has-history");
    }
    scrollDown(true);
    return node;
  }

  function setShopperState(node, status) {
    node.setAttribute("data-state", status);
    var meta = node.querySelector(".csbot-meta");
    if (status === "sent") {
      if (meta) meta.parentNode.removeChild(meta);
      return;
    }
    if (!meta) {
      meta = el("div", { class: "csbot-meta" });
      node.appendChild(meta);
    }
    meta.textContent = "";
    if (status === "pending") {
      meta.appendChild(document.createTextNode(t("sending")));
    } else if (status === "failed") {
      meta.appendChild(icon("alert", 14));
      meta.appendChild(document.createTextNode(t("failed") + " · "));
      var retry = el("button", { type: "button", class: "csbot-retry", text: t("retry") });
      retry.addEventListener("click", function () {
        var id = node.getAttribute("data-client-msg-id");
        var entry = findPending(id);
        if (!entry) return;
        entry.failed = false;
        setShopperState(node, "pending");
        persistPending();
        transmit(entry);
      });
      meta.appendChild(retry);
    }
  }

  function senderLine(kind, name) {
    return el("div", { class: "csbot-sender" }, [
      el("span", { class: "csbot-sender-avatar csbot-avatar-" + kind, "aria-hidden": "true" }, [
        kind === "agent" ? icon("human", 14) : icon("spark", 14),
      ]),
      el("span", { class: "csbot-sender-name", text: name }),
    ]);
  }

  function renderBot(frame) {
    var node = el("li", { class: "csbot-msg csbot-bot" }, [
      senderLine("bot", t("botName")),
      el("div", { class: "csbot-bubble", text: String(frame.text || "") }),
    ]);
    if (frame.intent) node.setAttribute("data-intent", String(frame.intent));
    if (Array.isArray(frame.cards) && frame.cards.length) {
      var cards = el("div", { class: "csbot-cards" });
      frame.cards.forEach(function (card) {
        var rendered = renderCard(card);
        if (rendered) cards.appendChild(rendered);
      });
      node.appendChild(cards);
    }
    if (Array.isArray(frame.suggestions) && frame.suggestions.length) {
      var chips = el("div", { class: "csbot-suggestions" });
      frame.suggestions.slice(0, 6).forEach(function (text) {
        if (typeof text === "string" && text.trim()) chips.appendChild(suggestionChip(text));
      });
      node.appendChild(chips);
    }
    node.appendChild(feedbackButtons(frame.seq));
    return node;
  }

  function renderAgent(frame) {
    var name = String(frame.agent || "") || t("agentName");
    state.agentName = name;
    updateStatus();
    return el("li", { class: "csbot-msg csbot-agent" }, [
      senderLine("agent", name),
      el("div", { class: "csbot-bubble", text: String(frame.text || "") }),
    ]);
  }

  function renderSystem(text, extraClass) {
    return el("li", { class: "csbot-msg csbot-system" + (extraClass ? " " + extraClass : "") }, [
      el("span", { class: "csbot-system-text", text: text }),
    ]);
  }

  function feedbackButtons(seq) {
    var key = "fb." + state.conversationId + "." + seq;
    var chosen = load(key);
    var wrap = el("div", { class: "csbot-feedback" });
    var up = el("button", {
      type: "button",
      class: "csbot-fb csbot-fb-up",
      "data-helpful": "true",
      "aria-label": t("helpful"),
      title: t("helpful"),
      "aria-pressed": chosen === "1" ? "true" : "false",
    }, [icon("up", 15)]);
    var down = el("button", {
      type: "button",
      class: "csbot-fb csbot-fb-down",
      "data-helpful": "false",
      "aria-label": t("notHelpful"),
      title: t("notHelpful"),
      "aria-pressed": chosen === "0" ? "true" : "false",
    }, [icon("down", 15)]);
    var thanks = el("span", { class: "csbot-fb-thanks", text: t("thanksFeedback"), hidden: true });
    function pick(helpful, button) {
      if (wrap.getAttribute("data-done")) return;
      if (!sendFrame({ type: "feedback", seq: seq, helpful: helpful })) return;
      wrap.setAttribute("data-done", "1");
      button.setAttribute("aria-pressed", "true");
      up.disabled = true;
      down.disabled = true;
      thanks.hidden = false;
      save(key, helpful ? "1" : "0");
    }
    up.addEventListener("click", function () {
      pick(true, up);
    });
    down.addEventListener("click", function () {
      pick(false, down);
    });
    if (chosen !== null) {
      wrap.setAttribute("data-done", "1");
      up.disabled = true;
      down.disabled = true;
    }
    wrap.appendChild(up);
    wrap.appendChild(down);
    wrap.appendChild(thanks);
    return wrap;
  }

  function formatPrice(value) {
    var n = Number(value);
    if (value === null || value === undefined || value === "" || !isFinite(n)) return String(value || "");
    return "¥" + (Math.round(n * 100) % 100 === 0 ? n.toFixed(0) : n.toFixed(2));
  }

  /** A same-site URL, or null: cards never link anywhere else (no javascript: URLs). */
  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, window.location.href);
      if (url.origin !== window.location.origin) return null;
      if (url.protocol !== "http:" && url.protocol !== "https:") return null;
      return url.pathname + url.search + url.hash;
    } catch (e) {
      return null;
    }
  }

  function renderCard(card) {
    if (!card || typeof card !== "object") return null;
    if (card.kind === "product") return productCard(card);
    if (card.kind === "order") return orderCard(card);
    return null;
  }

  function productCard(card) {
    var stock = Number(card.stock);
    var stockText, stockClass;
    if (!isFinite(stock)) {
      stockText = "";
      stockClass = "";
    } else if (stock <= 0) {
      stockText = t("soldOut");
      stockClass = "is-out";
    } else if (stock <= 20) {
      stockText = t("lowStock", { n: stock });
      stockClass = "is-low";
    } else {
      stockText = t("inStock");
      stockClass = "is-ok";
    }
    var href = safeUrl(card.url);
    var node = el(href ? "a" : "div", {
      class: "csbot-card csbot-card-product",
      href: href,
      "data-sku": card.sku ? String(card.sku) : null,
    }, [
      el("span", { class: "csbot-card-thumb", "aria-hidden": "true" }, [icon("box", 22)]),
      el("span", { class: "csbot-card-main" }, [
        el("span", { class: "csbot-card-title", text: String(card.name || card.sku || "") }),
        el("span", { class: "csbot-card-meta" }, [
          el("span", { class: "csbot-card-price", text: formatPrice(card.price) }),
          stockText ? el("span", { class: "csbot-card-stock " + stockClass, text: stockText }) : null,
        ]),
      ]),
      href ? el("span", { class: "csbot-card-cta", text: t("viewProduct") + " ›" }) : null,
    ]);
    return node;
  }

  function orderCard(card) {
    var items = el("ul", { class: "csbot-order-items" });
    (Array.isArray(card.items) ? card.items : []).forEach(function (item) {
      if (!item) return;
      items.appendChild(el("li", null, [
        el("span", { text: String(item.name || item.sku || "") }),
        el("span", { class: "csbot-qty", text: "×" + String(item.quantity || 1) }),
      ]));
    });
    var ship = null;
    if (card.carrier || card.tracking_no) {
      ship = el("div", { class: "csbot-order-ship" }, [
        icon("truck", 15),
        el("span", { text: [card.carrier, card.tracking_no ? t("tracking") + " " + card.tracking_no : ""].filter(Boolean).join(" · ") }),
      ]);
    }
    return el("div", {
      class: "csbot-card csbot-card-order",
      "data-order-no": card.order_no ? String(card.order_no) : null,
      "data-status": card.status ? String(card.status) : null,
    }, [
      el("div", { class: "csbot-order-head" }, [
        el("span", { class: "csbot-order-no", text: t("order", { no: String(card.order_no || "") }) }),
        el("span", { class: "csbot-pill", text: String(card.status_text || card.status || "") }),
      ]),
      items,
      ship,
      card.total !== undefined && card.total !== null
        ? el("div", { class: "csbot-order-total" }, [
            el("span", { text: t("total") }),
            el("strong", { text: formatPrice(card.total) }),
          ])
        : null,
    ]);
  }

  function handoffText(frame) {
    var status = frame.status;
    if (status === "queued") {
      var text = typeof frame.position === "number" ? t("queuedPos", { n: frame.position }) : t("queued");
      if (!frame.after_hours && typeof frame.wait_s === "number" && frame.wait_s > 0) {
        text += (LANG === "zh" ? "，" : ", ") + t("queuedWait", { m: Math.max(1, Math.round(frame.wait_s / 60)) });
      }
      return text;
    }
    if (status === "assigned") {
      return frame.agent ? t("withAgent", { agent: String(frame.agent) }) : t("assigned");
    }
    if (status === "returned") return t("returned");
    if (status === "closed") return t("closed");
    return String(status || "");
  }

  function applyHandoff(frame) {
    state.handoff = frame.status;
    if (state.conversationId) {
      save("closed." + state.conversationId, frame.status === "closed" ? "1" : null);
    }
    var bar = ui.handoffBar;
    bar.setAttribute("data-status", String(frame.status || ""));
    if (frame.status === "queued") {
      var text;
      if (typeof frame.position !== "number") text = t("queuedBarNoPos");
      else if (frame.after_hours) text = t("afterHoursBar", { n: frame.position });
      else text = t("queuedBar", { n: frame.position });
      if (!frame.after_hours && typeof frame.wait_s === "number" && frame.wait_s > 0) {
        text += " · " + t("queuedWait", { m: Math.max(1, Math.round(frame.wait_s / 60)) });
      }
      bar.textContent = text;
      bar.setAttribute("data-position", typeof frame.position === "number" ? String(frame.position) : "");
      bar.hidden = false;
    } else if (frame.status === "assigned") {
      if (frame.agent) state.agentName = String(frame.agent);
      bar.textContent = frame.agent ? t("withAgent", { agent: String(frame.agent) }) : t("assigned");
      bar.hidden = false;
    } else {
      bar.hidden = true;
      bar.textContent = "";
    }
    var withHuman = frame.status === "queued" || frame.status === "assigned";
    ui.handoffBtn.disabled = withHuman;
    ui.panel.classList.toggle("csbot-with-human", withHuman);
    updateStatus();
  }

  function csatPrompt(seq) {
    var key = "csat." + state.conversationId + "." + seq;
    if (load(key)) return null;
    var node = el("li", { class: "csbot-msg csbot-system csbot-csat", id: "csbot-csat" }, [
      el("div", { class: "csbot-csat-question", text: t("csatQuestion") }),
    ]);
    var stars = el("div", { class: "csbot-stars", role: "group", "aria-label": t("csatQuestion") });
    for (var n = 1; n <= 5; n++) {
      (function (score) {
        var star = el("button", {
          type: "button",
          class: "csbot-star",
          "data-score": String(score),
          "aria-label": t("star", { n: score }),
          title: t("star", { n: score }),
        }, [icon("star", 22)]);
        star.addEventListener("click", function () {
          if (!sendFrame({ type: "csat", score: score })) return;
          save(key, String(score));
          node.className = "csbot-msg csbot-system csbot-csat-done";
          node.textContent = "";
          node.appendChild(el("span", { class: "csbot-system-text", text: t("csatThanks") }));
        });
        star.addEventListener("mouseenter", function () {
          highlight(score);
        });
        stars.appendChild(star);
      })(n);
    }
    stars.addEventListener("mouseleave", function () {
      highlight(0);
    });
    function highlight(upTo) {
      Array.prototype.forEach.call(stars.children, function (star, i) {
        star.classList.toggle("is-lit", i < upTo);
      });
    }
    node.appendChild(stars);
    return node;
  }

  // ------------------------------------------------------- typing indicator

  function updateTyping() {
    var waiting = Object.keys(state.waiting).length > 0;
    ui.typing.hidden = !waiting;
    if (state.typingTimer) clearTimeout(state.typingTimer);
    state.typingTimer = null;
    if (waiting) {
      // Stop promising a reply that is taking too long; the reply still shows when it comes.
      state.typingTimer = setTimeout(function () {
        state.waiting = {};
        ui.typing.hidden = true;
      }, 30000);
      scrollDown(false);
    }
  }

  /** The agent is typing: show the dots with the agent's name for a few seconds. */
  var agentTypingTimer = null;

  function onAgentTyping(frame) {
    if (state.handoff !== "assigned") return;
    var name = String(frame.agent || "") || state.agentName || t("agentName");
    ui.typing.setAttribute("data-agent", name);
    ui.typing.setAttribute("aria-label", t("agentTyping", { agent: name }));
    ui.typing.setAttribute("title", t("agentTyping", { agent: name }));
    ui.typing.classList.add("csbot-typing-agent");
    ui.typing.hidden = false;
    scrollDown(false);
    if (agentTypingTimer) clearTimeout(agentTypingTimer);
    agentTypingTimer = setTimeout(function () {
      agentTypingTimer = null;
      ui.typing.classList.remove("csbot-typing-agent");
      ui.typing.removeAttribute("data-agent");
      ui.typing.setAttribute("aria-label", t("typing"));
      updateTyping();
    }, 4000);
  }

  // ---------------------------------------------------------------- frames

  function handleFrame(frame) {
    if (!frame || typeof frame !== "object" || typeof frame.type !== "string") return;
    switch (frame.type) {
      case "conversation":
        return onConversation(frame);
      case "ack":
        return onAck(frame);
      case "shopper":
        return onShopper(frame);
      case "bot":
      case "agent":
        return onReply(frame);
      case "handoff":
        return onHandoff(frame);
      case "order_update":
        return onOrderUpdate(frame);
      case "typing":
        return onAgentTyping(frame);
      case "error":
        return onError(frame);
      default:
        return undefined;
    }
  }

  function onConversation(frame) {
    var id = String(frame.conversation_id || "");
    if (typeof frame.privacy_notice === "string" && frame.privacy_notice) {
      ui.privacyText.textContent = frame.privacy_notice;
      ui.privacy.hidden = false;
    }
    if (state.switchingTo && state.switchingTo === id) {
      // The server confirms our resume into the stored conversation; the stored
      // frames follow.
      state.switchingTo = null;
      return;
    }
    // A fresh socket: the server bound it to the visitor's latest open conversation.
    state.serverConversationId = id;
    if (!state.conversationId || load("closed." + state.conversationId)) adoptConversation(id);
    if (state.conversationId !== id) state.switchingTo = state.conversationId;
    // Ask for everything after what this page has drawn: 0 after a reload
    // (redraw the history), the last seq seen after a dropped socket.
    sendFrame({ type: "resume", conversation_id: state.conversationId, after_seq: state.maxSeq });
    state.ready = true;
    setConnState("online");
    flushPending();
  }

  /** After an agent closed the chat, the next message opens a new conversation: the
   * old one stays on screen above a divider, inert, and a fresh socket is bound to
   * the new conversation the server opens. */
  function startNewConversation() {
    archiveConversationView();
    if (state.conversationId) save("closed." + state.conversationId, null);
    state.conversationId = null;
    save("conversation", null);
    if (state.ws) {
      var ws = state.ws;
      state.ws = null;
      state.ready = false;
      state.inflight = [];
      ws.close();
    }
    state.retries = 0;
    connect();
  }

  function archiveConversationView() {
    Array.prototype.slice.call(ui.list.children).forEach(function (node) {
      if (node.classList.contains("csbot-csat") && node.querySelector(".csbot-star")) {
        node.parentNode.removeChild(node); // an unanswered rating would rate the new chat
        return;
      }
      if (!node.getAttribute("data-seq") && node.classList.contains("csbot-shopper")) return;
      node.setAttribute("data-order", "-1");
      node.removeAttribute("data-seq");
      node.removeAttribute("id");
      node.classList.add("csbot-archived");
      Array.prototype.forEach.call(node.querySelectorAll("button"), function (button) {
        button.disabled = true;
      });
    });
    var divider = renderSystem(t("newChat"), "csbot-divider");
    divider.setAttribute("data-order", "-1");
    var firstLive = null;
    Array.prototype.some.call(ui.list.children, function (node) {
      if (node.getAttribute("data-order") !== "-1") {
        firstLive = node;
        return true;
      }
      return false;
    });
    ui.list.insertBefore(divider, firstLive);
    state.rendered = {};
    state.maxSeq = 0;
    state.waiting = {};
    state.seen = 0;
    save("lastSeq", null);
    save("seen", null);
    applyHandoff({ status: null });
    updateTyping();
  }

  function adoptConversation(id) {
    if (state.conversationId && state.conversationId !== id) {
      clearConversationView();
    }
    state.conversationId = id;
    save("conversation", id);
  }

  function clearConversationView() {
    Object.keys(state.rendered).forEach(function (seq) {
      var node = state.rendered[seq];
      if (node.parentNode) node.parentNode.removeChild(node);
    });
    Array.prototype.slice.call(ui.list.querySelectorAll(".csbot-system")).forEach(function (node) {
      node.parentNode.removeChild(node);
    });
    state.rendered = {};
    state.maxSeq = 0;
    state.waiting = {};
    state.seen = 0;
    state.handoff = null;
    save("lastSeq", null);
    save("seen", null);
    applyHandoff({ status: null });
    updateTyping();
    ui.greeting.classList.toggle("csbot-has-history", state.pending.length > 0);
  }

  function findPending(id) {
    for (var i = 0; i < state.pending.length; i++) {
      if (state.pending[i].id === id) return state.pending[i];
    }
    return null;
  }

  function settlePending(id, seq) {
    var entry = findPending(id);
    if (!entry) return null;
    state.pending.splice(state.pending.indexOf(entry), 1);
    persistPending();
    setShopperState(entry.el, "sent");
    if (!state.rendered[seq]) {
      markRendered(seq, entry.el);
    } else if (entry.el !== state.rendered[seq] && entry.el.parentNode) {
      entry.el.parentNode.removeChild(entry.el);
    }
    return entry;
  }

  function onAck(frame) {
    var seq = Number(frame.seq);
    var id = String(frame.client_msg_id || "");
    var at = state.inflight.indexOf(id);
    if (at !== -1) state.inflight.splice(at, 1);
    if (!seq) return;
    var entry = settlePending(id, seq);
    // With an agent there is no bot reply to wait for: no dots until the agent types.
    if (entry && !answered(seq) && state.handoff !== "assigned") {
      state.waiting[seq] = true;
      updateTyping();
    }
  }

  function answered(seq) {
    return Object.keys(state.rendered).some(function (other) {
      return state.rendered[other].getAttribute("data-reply-to") === String(seq);
    });
  }

  function onShopper(frame) {
    var seq = Number(frame.seq);
    if (!seq || state.rendered[seq]) return;
    if (frame.client_msg_id && findPending(String(frame.client_msg_id))) {
      settlePending(String(frame.client_msg_id), seq);
      return;
    }
    var node = renderShopper({ text: String(frame.text || ""), clientMsgId: frame.client_msg_id, seq: seq });
    announce(frame, node);
  }

  /** Tell add-ons (widget-image.js) about a drawn frame: they may decorate its node. */
  function announce(frame, node) {
    if (typeof window.CustomEvent !== "function") return;
    root.dispatchEvent(new window.CustomEvent("csbot:frame", { detail: { frame: frame, node: node } }));
  }

  function onReply(frame) {
    var seq = Number(frame.seq);
    if (!seq || state.rendered[seq]) return;
    var node = frame.type === "bot" ? renderBot(frame) : renderAgent(frame);
    if (frame.reply_to) {
      node.setAttribute("data-reply-to", String(frame.reply_to));
      delete state.waiting[frame.reply_to];
    }
    if (frame.type === "agent") state.waiting = {};
    markRendered(seq, node);
    updateTyping();
    noteIncoming(seq);
    scrollDown(false);
  }

  function onHandoff(frame) {
    var seq = Number(frame.seq);
    if (seq && state.rendered[seq]) return;
    if (!seq) {
      // A live queue update (place, wait): not stored, so it only refreshes the bar.
      if (state.handoff === "queued" && frame.status === "queued") applyHandoff(frame);
      return;
    }
    var node = renderSystem(handoffText(frame), "csbot-handoff-note");
    node.setAttribute("data-status", String(frame.status || ""));
    if (seq) {
      markRendered(seq, node);
    } else {
      place(node, state.maxSeq + 0.5);
    }
    if (!seq || seq >= highestHandoffSeq()) applyHandoff(frame);
    if (frame.status === "queued" || frame.status === "assigned") {
      state.waiting = {};
      updateTyping();
    }
    if (frame.status === "closed") {
      var prompt = csatPrompt(seq || 0);
      if (prompt) place(prompt, (seq || state.maxSeq) + 0.5);
    }
    noteIncoming(seq);
    scrollDown(false);
  }

  function highestHandoffSeq() {
    var best = 0;
    Array.prototype.forEach.call(ui.list.querySelectorAll(".csbot-handoff-note[data-seq]"), function (node) {
      best = Math.max(best, Number(node.getAttribute("data-seq")));
    });
    return best;
  }

  function onOrderUpdate(frame) {
    var text = String(frame.text || "");
    if (!text) return;
    var node = renderSystem(text, "csbot-order-update");
    if (frame.order_no) node.setAttribute("data-order-no", String(frame.order_no));
    place(node, state.maxSeq + 0.5);
    noteIncoming(null);
    scrollDown(false);
  }

  var FAILS_A_MESSAGE = { text_too_long: true, empty_text: true, rate_limited: true, invalid_frame: true };

  function onError(frame) {
    var code = String(frame.code || "");
    if (code === "not_found" && state.switchingTo) {
      // The stored conversation is gone or belongs to another visitor (after a
      // logout, say): carry on in the one the server opened for this socket.
      state.switchingTo = null;
      adoptConversation(state.serverConversationId);
      sendFrame({ type: "resume", conversation_id: state.conversationId, after_seq: 0 });
      return;
    }
    if (FAILS_A_MESSAGE[code] && state.inflight.length) {
      var entry = findPending(state.inflight.shift());
      if (entry) {
        entry.failed = true;
        setShopperState(entry.el, "failed");
        persistPending();
      }
    }
    showToast(String(frame.message || code || "error"));
  }

  var toastTimer = null;

  function showToast(text) {
    ui.toast.textContent = text;
    ui.toast.hidden = false;
    ui.toast.classList.add("is-visible");
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      ui.toast.classList.remove("is-visible");
      toastTimer = setTimeout(function () {
        ui.toast.hidden = true;
      }, 250);
    }, 5000);
  }

  function noteIncoming(seq) {
    if (state.open) {
      markSeen();
      return;
    }
    if (seq && seq <= state.seen) return;
    state.unread += 1;
    ui.unread.textContent = state.unread > 9 ? "9+" : String(state.unread);
    ui.unread.hidden = false;
    ui.launcher.setAttribute("aria-label", t("launcherOpen") + " · " + t("unread", { n: state.unread }));
  }

  function markSeen() {
    state.unread = 0;
    ui.unread.hidden = true;
    ui.launcher.setAttribute("aria-label", state.open ? t("launcherClose") : t("launcherOpen"));
    if (state.maxSeq > state.seen) {
      state.seen = state.maxSeq;
      save("seen", state.seen);
    }
  }

  // ------------------------------------------------------------- transport

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + WS_PATH;
  }

  function connect() {
    if (state.stopped) return;
    if (state.ws && (state.ws.readyState === WebSocket.CONNECTING || state.ws.readyState === WebSocket.OPEN)) {
      return;
    }
    if (state.retryTimer) {
      clearTimeout(state.retryTimer);
      state.retryTimer = null;
    }
    setConnState(state.retries ? "reconnecting" : "connecting");
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    state.ready = false;
    state.switchingTo = null;
    ws.onopen = function () {
      state.retries = 0;
    };
    ws.onmessage = function (event) {
      if (typeof event.data !== "string") return;
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      handleFrame(frame);
    };
    ws.onclose = function () {
      if (state.ws !== ws) return;
      state.ws = null;
      state.ready = false;
      state.inflight = [];
      if (!state.stopped) scheduleReconnect();
    };
    ws.onerror = function () {
      /* onclose follows and schedules the reconnect */
    };
  }

  function scheduleReconnect() {
    if (state.retryTimer || state.stopped) return;
    var base = Math.min(30000, 1000 * Math.pow(2, state.retries));
    var delay = Math.round(base * (0.75 + Math.random() * 0.5));
    state.retries += 1;
    setConnState(navigator.onLine === false ? "offline" : "reconnecting");
    state.retryTimer = setTimeout(function () {
      state.retryTimer = null;
      connect();
    }, delay);
  }

  function reconnectNow() {
    if (state.stopped || (!state.conversationId && !state.open)) return;
    if (state.ws) return;
    if (state.retryTimer) {
      clearTimeout(state.retryTimer);
      state.retryTimer = null;
    }
    connect();
  }

  function sendFrame(frame) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    try {
      state.ws.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      return false;
    }
  }

  // The product page the shopper is on, if any: questions like "这个多少钱" are about it.
  function pageContext() {
    var page = document.querySelector(".product-page[data-sku]");
    return page ? { sku: page.getAttribute("data-sku") } : null;
  }

  function transmit(entry) {
    if (!state.ready || entry.failed) return;
    var frame = { type: "message", text: entry.text, client_msg_id: entry.id };
    var context = pageContext();
    if (context) frame.context = context;
    if (sendFrame(frame)) {
      state.inflight.push(entry.id);
    }
  }

  function flushPending() {
    state.pending.forEach(transmit);
  }

  function sendText(raw) {
    var text = String(raw || "").replace(/^\s+|\s+$/g, "");
    if (!text) return false;
    if (text.length > MAX_CHARS) {
      showToast(t("tooLong"));
      return false;
    }
    if (state.handoff === "closed") startNewConversation();
    var id = newId();
    var node = renderShopper({ text: text, clientMsgId: id, seq: null });
    var entry = { id: id, text: text, el: node, failed: false };
    state.pending.push(entry);
    persistPending();
    if (state.ready) {
      transmit(entry);
    } else {
      connect();
    }
    return true;
  }

  function setConnState(connState) {
    state.connState = connState;
    updateStatus();
  }

  function updateStatus() {
    var s = state.connState;
    ui.status.setAttribute("data-state", s);
    var text;
    if (s === "online") {
      if (state.handoff !== "assigned") text = t("online");
      else text = state.agentName ? t("withAgent", { agent: state.agentName }) : t("assigned");
    } else if (s === "reconnecting") {
      text = t("reconnecting");
    } else if (s === "offline") {
      text = t("offline");
    } else {
      text = t("connecting");
    }
    ui.statusText.textContent = text;
  }

  // ------------------------------------------------------------ open/close

  // Follow new messages while the shopper is at the bottom; leave them be when they
  // have scrolled up to read.
  var stickToBottom = true;

  function scrollDown(force) {
    if (!force && !stickToBottom) return;
    stickToBottom = true;
    ui.log.scrollTop = ui.log.scrollHeight;
    window.requestAnimationFrame(function () {
      ui.log.scrollTop = ui.log.scrollHeight;
    });
  }

  function openPanel(opts) {
    state.open = true;
    save("open", "1");
    ui.panel.hidden = false;
    root.classList.add("csbot-open");
    ui.launcher.setAttribute("aria-expanded", "true");
    markSeen();
    connect();
    scrollDown(true);
    if (!opts || opts.focus !== false) {
      window.setTimeout(function () {
        ui.input.focus();
      }, 60);
    }
  }

  function closePanel() {
    state.open = false;
    save("open", "0");
    ui.panel.hidden = true;
    root.classList.remove("csbot-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    markSeen();
  }

  function reset() {
    state.stopped = true;
    if (state.retryTimer) clearTimeout(state.retryTimer);
    if (state.ws) {
      var ws = state.ws;
      state.ws = null;
      ws.close();
    }
    clearStorage();
    state.pending.forEach(function (entry) {
      if (entry.el.parentNode) entry.el.parentNode.removeChild(entry.el);
    });
    state.pending = [];
    clearConversationView();
    state.conversationId = null;
    state.serverConversationId = null;
    state.switchingTo = null;
    state.ready = false;
    state.retries = 0;
    ui.privacy.hidden = true;
    state.stopped = false;
    setConnState("idle");
    if (state.open) connect();
  }

  // ------------------------------------------------------------- composer

  function updateComposer() {
    var length = ui.input.value.length;
    ui.counter.textContent = length + "/" + MAX_CHARS;
    ui.counter.classList.toggle("is-near", length > MAX_CHARS * 0.9);
    ui.send.disabled = !ui.input.value.trim();
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 132) + "px";
  }

  function submitInput() {
    if (sendText(ui.input.value)) {
      ui.input.value = "";
      updateComposer();
    }
  }

  function bindEvents() {
    ui.launcher.addEventListener("click", function () {
      if (state.open) closePanel();
      else openPanel();
    });
    ui.closeBtn.addEventListener("click", function () {
      closePanel();
      ui.launcher.focus();
    });
    ui.handoffBtn.addEventListener("click", function () {
      if (!sendFrame({ type: "handoff_request" })) {
        connect();
        showToast(t("reconnecting"));
      }
    });
    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitInput();
    });
    ui.input.addEventListener("input", updateComposer);
    ui.log.addEventListener("scroll", function () {
      var log = ui.log;
      stickToBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
    });
    ui.input.addEventListener("keydown", function (event) {
      // Enter sends; Shift+Enter is a new line; Enter that confirms an IME
      // candidate (pinyin input) does neither.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submitInput();
      }
    });
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        closePanel();
        ui.launcher.focus();
      }
    });
    document.addEventListener("click", function (event) {
      var opener = event.target.closest ? event.target.closest("[data-csbot-open]") : null;
      if (!opener) return;
      event.preventDefault();
      openPanel();
      var draft = opener.getAttribute("data-csbot-draft");
      if (draft && !ui.input.value) {
        ui.input.value = draft;
        updateComposer();
      }
    });
    window.addEventListener("online", reconnectNow);
    window.addEventListener("offline", function () {
      if (!state.ws) setConnState("offline");
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") reconnectNow();
    });
  }

  // The privacy page's "delete my data" form: post it here so the widget can forget
  // its stored conversation too. Without JS the form posts normally.
  function bindPrivacyForm() {
    var form = document.getElementById("privacy-delete-form");
    if (!form || !window.fetch) return;
    var status = document.getElementById("privacy-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!window.confirm(form.getAttribute("data-confirm") || "")) return;
      var token = form.querySelector("input[name=csrfmiddlewaretoken]");
      window
        .fetch(form.getAttribute("action"), {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRFToken": token ? token.value : "",
          },
          body: "{}",
        })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          reset();
          if (status) status.textContent = form.getAttribute("data-done") || "";
        })
        .catch(function () {
          if (status) status.textContent = form.getAttribute("data-failed") || "";
        });
    });
  }

  // ----------------------------------------------------------------- start

  buildUi();
  bindEvents();
  bindPrivacyForm();
  restorePending();
  updateComposer();
  window.csbot = {
    open: openPanel,
    close: closePanel,
    reset: reset,
    // For add-ons: the conversation this tab shows, and a way to draw frames the
    // server returned over HTTP (deduplicated by seq like socket frames).
    conversationId: function () {
      return state.conversationId || "";
    },
    handleFrame: handleFrame,
  };

  if (load("open") === "1") {
    openPanel({ focus: false });
  } else if (state.conversationId || state.pending.length) {
    connect();
  }
})();
