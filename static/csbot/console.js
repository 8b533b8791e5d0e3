/*
 * csbot agent console (plain JS, no build step), on the agent WebSocket /ws/agent/.
 *
 * - The queue is pushed by the server on every change (no polling); waiting times
 *   tick locally between pushes.
 * - Each held chat arrives as a `chat` frame (history + context packet); live frames
 *   (`shopper`, `bot`, `agent`, `handoff`) carry conversation_id and seq and are drawn
 *   once per seq.
 * - Every piece of shopper, bot or agent text is inserted with textContent, never
 *   innerHTML.
 * - The socket reconnects with backoff; on reconnect the server sends the queue and
 *   the held chats again.
 */
(function () {
  "use strict";

  var root = document.getElementById("console-root");
  if (!root || !window.WebSocket) return;

  var LANG = root.getAttribute("data-lang") === "en" ? "en" : "zh";
  var WS_PATH = root.getAttribute("data-ws-path") || "/ws/agent/";
  var AGENT = root.getAttribute("data-agent-name") || "";
  var CAPACITY = Number(root.getAttribute("data-capacity") || 0);
  var HOURS = root.getAttribute("data-hours") || "";
  var MAX_CHARS = 2000;

  var STRINGS = {
    zh: {
      title: "客服工作台",
      hours: "服务时间 {hours}",
      connecting: "连接中…",
      online: "已连接",
      reconnecting: "连接断开，正在重连…",
      queue: "排队中",
      queueEmpty: "暂无排队的会话",
      mine: "我的会话",
      mineCount: "{n}/{cap}",
      mineEmpty: "从左侧队列接入一个会话",
      take: "接入",
      waited: "已等待 {t}",
      noChat: "选择或接入一个会话后，这里显示完整记录和上下文。",
      shopper: "顾客",
      bot: "智能助手",
      system: "系统",
      replyPlaceholder: "输入回复，Enter 发送，Shift+Enter 换行",
      send: "发送",
      canned: "快捷回复",
      release: "转回机器人",
      close: "结束会话",
      closeNote: "处理结果备注（可选）",
      closeConfirm: "确认结束",
      cancel: "取消",
      context: "会话上下文",
      reason: "转人工原因",
      priority: "优先级",
      sentiment: "情绪",
      language: "语言",
      intentPath: "意图路径",
      slots: "已识别信息",
      product: "相关商品",
      order: "相关订单",
      orderUnverified: "{no}（顾客未验证，不显示订单详情）",
      summaries: "长消息摘要",
      afterHours: "非工作时间留言",
      contact: "联系方式",
      leftMessage: "留言",
      none: "无",
      unknown: "未知",
      langZh: "中文",
      langEn: "英文",
      returned: "已转回机器人",
      closed: "会话已结束",
      assigned: "已接入",
      queued: "排队中",
      handoffNote: "转人工：{s}",
      sec: "{n} 秒",
      min: "{m} 分 {s} 秒",
      hour: "{h} 小时 {m} 分",
      typingSent: "顾客会看到“正在输入”",
      stock: "库存 {n}",
      total: "合计 {v}",
      tracking: "运单 {v}",
      loggedIn: "已登录",
      visitor: "访客",
      picture: "顾客发送的图片",
    },
    en: {
      title: "Agent console",
      hours: "Hours {hours}",
      connecting: "Connecting…",
      online: "Connected",
      reconnecting: "Connection lost, reconnecting…",
      queue: "Queue",
      queueEmpty: "Nobody is waiting",
      mine: "My chats",
      mineCount: "{n}/{cap}",
      mineEmpty: "Take a chat from the queue",
      take: "Take",
      waited: "waiting {t}",
      noChat: "Take or pick a chat to see its history and context here.",
      shopper: "Shopper",
      bot: "Assistant",
      system: "System",
      replyPlaceholder: "Type a reply. Enter sends, Shift+Enter starts a new line",
      send: "Send",
      canned: "Canned replies",
      release: "Back to the bot",
      close: "Close chat",
      closeNote: "Resolution note (optional)",
      closeConfirm: "Close",
      cancel: "Cancel",
      context: "Context",
      reason: "Reason",
      priority: "Priority",
      sentiment: "Sentiment",
      language: "Language",
      intentPath: "Intent path",
      slots: "Slots",
      product: "Product",
      order: "Order",
      orderUnverified: "{no} (not verified: no details shown)",
      summaries: "Summaries of long messages",
      afterHours: "Left after hours",
      contact: "Contact",
      leftMessage: "Message",
      none: "none",
      unknown: "unknown",
      langZh: "Chinese",
      langEn: "English",
      returned: "Returned to the bot",
      closed: "Chat closed",
      assigned: "Taken",
      queued: "Queued",
      handoffNote: "Handoff: {s}",
      sec: "{n}s",
      min: "{m}m {s}s",
      hour: "{h}h {m}m",
      typingSent: "The shopper sees “typing”",
      stock: "stock {n}",
      total: "total {v}",
      tracking: "tracking {v}",
      loggedIn: "logged in",
      visitor: "visitor",
      picture: "picture from the shopper",
    },
  };
  var REASONS = {
    requested: ["顾客要求人工", "Asked for a human"],
    complaint: ["投诉", "Complaint"],
    anger: ["顾客情绪激动", "Angry shopper"],
    low_confidence: ["机器人两次未理解", "Bot unsure twice"],
    negative_feedback: ["连续两次差评", "Two thumbs down"],
    verification_locked: ["订单验证被锁定", "Order verification locked"],
  };
  var PRIORITIES = { urgent: ["紧急", "Urgent"], high: ["高", "High"], normal: ["普通", "Normal"] };

  function t(key, vars) {
    var text = STRINGS[LANG][key];
    if (vars) {
      Object.keys(vars).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(vars[name]));
      });
    }
    return text;
  }

  function pick(table, key) {
    var row = table[key];
    return row ? row[LANG === "zh" ? 0 : 1] : String(key || "");
  }

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

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return t("sec", { n: seconds });
    if (seconds < 3600) return t("min", { m: Math.floor(seconds / 60), s: seconds % 60 });
    return t("hour", { h: Math.floor(seconds / 3600), m: Math.floor((seconds % 3600) / 60) });
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // ---------------------------------------------------------------- layout

  var ui = {};

  function buildUi() {
    ui.status = el("span", { id: "console-status", class: "status", "data-state": "idle", text: t("connecting") });
    ui.mineCount = el("span", { id: "mine-count", class: "count", text: t("mineCount", { n: 0, cap: CAPACITY }) });
    var top = el("header", { class: "topbar" }, [
      el("div", { class: "brand" }, [el("span", { class: "brand-mark", "aria-hidden": "true" }), el("h1", { text: t("title") })]),
      el("span", { class: "hours", text: HOURS ? t("hours", { hours: HOURS }) : "" }),
      el("span", { class: "spacer" }),
      el("span", { id: "agent-name", class: "agent-chip", text: AGENT }),
      ui.status,
    ]);

    ui.queue = el("ol", { id: "queue", class: "queue" });
    ui.queueEmpty = el("p", { class: "empty", id: "queue-empty", text: t("queueEmpty") });
    ui.queueCount = el("span", { id: "queue-count", class: "count", text: "0" });
    ui.mine = el("ol", { id: "chats", class: "chats" });
    ui.mineEmpty = el("p", { class: "empty", text: t("mineEmpty") });
    var side = el("aside", { class: "side" }, [
      el("section", { class: "panel" }, [el("h2", null, [t("queue") + " ", ui.queueCount]), ui.queue, ui.queueEmpty]),
      el("section", { class: "panel" }, [el("h2", null, [t("mine") + " ", ui.mineCount]), ui.mine, ui.mineEmpty]),
    ]);

    ui.chatTitle = el("h2", { id: "chat-title", class: "chat-title" });
    ui.chatMeta = el("span", { id: "chat-meta", class: "chat-meta" });
    ui.release = el("button", { type: "button", id: "release-btn", class: "btn btn-ghost", text: t("release") });
    ui.closeBtn = el("button", { type: "button", id: "close-btn", class: "btn btn-danger", text: t("close") });
    ui.closeNote = el("textarea", { id: "close-note", rows: "2", maxlength: "2000", placeholder: t("closeNote") });
    ui.closeConfirm = el("button", { type: "button", id: "close-confirm", class: "btn btn-danger", text: t("closeConfirm") });
    ui.closeCancel = el("button", { type: "button", class: "btn btn-ghost", text: t("cancel") });
    ui.closeForm = el("div", { id: "close-form", class: "close-form", hidden: true }, [
      ui.closeNote,
      el("div", { class: "row" }, [ui.closeCancel, ui.closeConfirm]),
    ]);
    ui.logs = el("div", { id: "chat-logs", class: "logs" });
    ui.placeholder = el("p", { class: "empty big", id: "no-chat", text: t("noChat") });
    ui.canned = el("div", { id: "canned-list", class: "canned", "aria-label": t("canned") });
    ui.input = el("textarea", {
      id: "reply-input",
      rows: "2",
      maxlength: String(MAX_CHARS),
      placeholder: t("replyPlaceholder"),
      "aria-label": t("replyPlaceholder"),
    });
    ui.send = el("button", { type: "submit", id: "reply-send", class: "btn btn-primary", text: t("send") });
    ui.form = el("form", { id: "reply-form", class: "reply" }, [ui.input, ui.send]);
    ui.chat = el("section", { class: "chat", id: "chat", hidden: true }, [
      el("div", { class: "chat-head" }, [
        el("div", { class: "chat-titles" }, [ui.chatTitle, ui.chatMeta]),
        ui.release,
        ui.closeBtn,
      ]),
      ui.closeForm,
      ui.logs,
      el("div", { class: "composer" }, [
        el("div", { class: "canned-head", text: t("canned") }),
        ui.canned,
        ui.form,
      ]),
    ]);
    var main = el("main", { class: "main" }, [ui.placeholder, ui.chat]);

    ui.context = el("div", { id: "context", class: "context" });
    var right = el("aside", { class: "side side-right", id: "context-panel" }, [
      el("section", { class: "panel" }, [el("h2", { text: t("context") }), ui.context]),
    ]);

    ui.toast = el("div", { id: "console-toast", class: "toast", role: "status", hidden: true });
    root.appendChild(top);
    root.appendChild(el("div", { class: "layout" }, [side, main, right]));
    root.appendChild(ui.toast);
  }

  // ----------------------------------------------------------------- state

  var state = {
    ws: null,
    retries: 0,
    queue: [],
    queueAt: 0,
    chats: {}, // conversation_id -> {packet, log, tab, rendered: {seq: node}, unread}
    order: [],
    selected: null,
    pendingSends: {}, // client_msg_id -> {conversation_id, text}
    lastTyping: 0,
  };

  // ----------------------------------------------------------------- queue

  function renderQueue() {
    ui.queue.textContent = "";
    ui.queueCount.textContent = String(state.queue.length);
    ui.queueEmpty.hidden = state.queue.length > 0;
    var elapsed = (Date.now() - state.queueAt) / 1000;
    state.queue.forEach(function (item) {
      var take = el("button", { type: "button", class: "btn btn-primary btn-sm queue-take", text: t("take") });
      take.addEventListener("click", function () {
        sendFrame({ type: "take", conversation_id: item.conversation_id });
      });
      var li = el("li", {
        class: "queue-item prio-" + String(item.priority),
        "data-conversation-id": String(item.conversation_id),
        "data-priority": String(item.priority),
      }, [
        el("div", { class: "queue-row" }, [
          el("span", { class: "pill pill-" + String(item.priority), text: pick(PRIORITIES, item.priority) }),
          el("span", { class: "reason", text: pick(REASONS, item.reason) }),
          item.after_hours ? el("span", { class: "pill pill-night", text: t("afterHours") }) : null,
          el("span", { class: "spacer" }),
          take,
        ]),
        el("p", { class: "summary", text: String(item.summary || "") }),
        el("div", { class: "queue-row muted" }, [
          el("span", { class: "waited", "data-waiting-s": String(item.waiting_s), text: t("waited", { t: duration(item.waiting_s + elapsed) }) }),
          el("span", { class: "spacer" }),
          el("span", { text: item.language === "en" ? t("langEn") : t("langZh") }),
        ]),
      ]);
      ui.queue.appendChild(li);
    });
  }

  function tick() {
    var elapsed = (Date.now() - state.queueAt) / 1000;
    Array.prototype.forEach.call(ui.queue.querySelectorAll(".waited"), function (node) {
      var base = Number(node.getAttribute("data-waiting-s"));
      node.textContent = t("waited", { t: duration(base + elapsed) });
    });
  }

  // ----------------------------------------------------------------- chats

  function onChat(frame) {
    var id = String(frame.conversation_id);
    var chat = state.chats[id];
    if (!chat) {
      chat = state.chats[id] = { rendered: {}, unread: 0, log: el("ol", { class: "log", "data-conversation-id": id, hidden: true }) };
      ui.logs.appendChild(chat.log);
      state.order.push(id);
    }
    chat.packet = frame;
    (frame.history || []).forEach(function (item) {
      drawFrame(chat, item);
    });
    renderTabs();
    if (!state.selected || state.selected === id) select(id);
  }

  function renderTabs() {
    ui.mine.textContent = "";
    ui.mineEmpty.hidden = state.order.length > 0;
    ui.mineCount.textContent = t("mineCount", { n: state.order.length, cap: CAPACITY });
    state.order.forEach(function (id) {
      var chat = state.chats[id];
      var packet = chat.packet || {};
      var badge = chat.unread ? el("span", { class: "badge", text: String(chat.unread) }) : null;
      var tab = el("li", {
        class: "chat-tab" + (state.selected === id ? " is-selected" : ""),
        "data-conversation-id": id,
        tabindex: "0",
        role: "button",
      }, [
        el("span", { class: "pill pill-" + String(packet.priority || "normal"), text: pick(PRIORITIES, packet.priority) }),
        el("span", { class: "tab-name", text: shopperName(packet) || id }),
        badge,
      ]);
      tab.addEventListener("click", function () {
        select(id);
      });
      tab.addEventListener("keydown", function (event) {
        if (event.key === "Enter") select(id);
      });
      ui.mine.appendChild(tab);
    });
  }

  function select(id) {
    var chat = state.chats[id];
    if (!chat) return;
    state.selected = id;
    chat.unread = 0;
    Object.keys(state.chats).forEach(function (other) {
      state.chats[other].log.hidden = other !== id;
    });
    ui.placeholder.hidden = true;
    ui.chat.hidden = false;
    ui.closeForm.hidden = true;
    var packet = chat.packet || {};
    ui.chatTitle.textContent = shopperName(packet) || id;
    ui.chatMeta.textContent = id + " · " + (packet.language === "en" ? t("langEn") : t("langZh"));
    renderCanned(packet.canned || []);
    renderContext(packet);
    renderTabs();
    scrollDown(chat);
    ui.input.focus();
  }

  function drop(id) {
    var chat = state.chats[id];
    if (!chat) return;
    if (chat.log.parentNode) chat.log.parentNode.removeChild(chat.log);
    delete state.chats[id];
    state.order = state.order.filter(function (other) {
      return other !== id;
    });
    if (state.selected === id) {
      state.selected = null;
      ui.chat.hidden = true;
      ui.placeholder.hidden = false;
      ui.context.textContent = "";
      if (state.order.length) select(state.order[0]);
    }
    renderTabs();
  }

  function place(log, node, seq) {
    node.setAttribute("data-seq", String(seq));
    var items = log.children;
    for (var i = 0; i < items.length; i++) {
      if (Number(items[i].getAttribute("data-seq")) > seq) {
        log.insertBefore(node, items[i]);
        return;
      }
    }
    log.appendChild(node);
  }

  function drawFrame(chat, frame) {
    var seq = Number(frame.seq);
    if (!seq || chat.rendered[seq]) return false;
    var node;
    if (frame.type === "shopper") {
      node = bubble("shopper", t("shopper"), frame.text);
      var picture = thumbnail(frame.image);
      if (picture) node.insertBefore(picture, node.lastChild);
    } else if (frame.type === "bot") {
      node = bubble("bot", t("bot"), frame.text);
      if (frame.intent) node.appendChild(el("span", { class: "intent", text: String(frame.intent) }));
    } else if (frame.type === "agent") {
      node = bubble("agent", String(frame.agent || AGENT), frame.text);
    } else if (frame.type === "handoff") {
      node = el("li", { class: "msg msg-system", "data-status": String(frame.status || "") }, [
        el("span", { text: t("handoffNote", { s: statusText(frame.status) }) }),
      ]);
    } else {
      return false;
    }
    chat.rendered[seq] = node;
    place(chat.log, node, seq);
    return true;
  }

  function shopperName(packet) {
    if (!packet.shopper) return "";
    return packet.logged_in ? String(packet.shopper) : t("visitor") + " " + String(packet.shopper);
  }

  function statusText(status) {
    if (status === "queued") return t("queued");
    if (status === "assigned") return t("assigned");
    if (status === "returned") return t("returned");
    if (status === "closed") return t("closed");
    return String(status || "");
  }

  /** A picture the shopper sent: its thumbnail, linked to the full picture. Only
   * same-origin paths are drawn (the server gives /api/chat/image/<id>/ URLs). */
  function thumbnail(image) {
    if (!image || typeof image !== "object") return null;
    var thumb = String(image.thumbnail_url || "");
    var full = String(image.url || thumb);
    var local = function (url) {
      return url.charAt(0) === "/" && url.charAt(1) !== "/";
    };
    if (!local(thumb) || !local(full)) return null;
    return el("a", { class: "picture", href: full, target: "_blank", rel: "noopener" }, [
      el("img", { src: thumb, alt: t("picture"), loading: "lazy" }),
    ]);
  }

  function bubble(kind, name, text) {
    return el("li", { class: "msg msg-" + kind }, [
      el("span", { class: "who", text: name }),
      el("div", { class: "bubble", text: String(text || "") }),
    ]);
  }

  function scrollDown(chat) {
    ui.logs.scrollTop = ui.logs.scrollHeight;
    if (chat && chat.log) chat.log.scrollTop = chat.log.scrollHeight;
  }

  function onLive(frame) {
    var id = String(frame.conversation_id || "");
    var chat = state.chats[id];
    if (!chat) return;
    if (drawFrame(chat, frame)) {
      if (state.selected !== id) {
        chat.unread += 1;
        renderTabs();
      }
      scrollDown(chat);
    }
    if (frame.type === "handoff" && (frame.status === "returned" || frame.status === "closed")) {
      showToast(statusText(frame.status) + " · " + (shopperName(chat.packet || {}) || id));
      drop(id);
    }
  }

  // --------------------------------------------------------------- context

  function renderContext(packet) {
    var box = ui.context;
    box.textContent = "";
    var dl = el("dl", { class: "facts" });
    function row(field, label, value) {
      dl.appendChild(el("dt", { text: label }));
      var dd = el("dd", { "data-field": field });
      if (value instanceof Node) dd.appendChild(value);
      else dd.textContent = value === null || value === undefined || value === "" ? t("none") : String(value);
      dl.appendChild(dd);
    }
    row("shopper", t("shopper"), shopperName(packet) + (packet.logged_in ? " · " + t("loggedIn") : ""));
    row("reason", t("reason"), pick(REASONS, packet.reason));
    row("priority", t("priority"), pick(PRIORITIES, packet.priority));
    row("sentiment", t("sentiment"), packet.sentiment || t("unknown"));
    row("language", t("language"), packet.language === "en" ? t("langEn") : t("langZh"));
    var path = el("ol", { class: "path" });
    (packet.intent_path || []).forEach(function (label) {
      path.appendChild(el("li", { text: String(label) }));
    });
    row("intent_path", t("intentPath"), (packet.intent_path || []).length ? path : "");
    var slots = packet.slots || {};
    var slotText = Object.keys(slots)
      .map(function (key) {
        return key + " = " + String(slots[key]);
      })
      .join("\n");
    row("slots", t("slots"), slotText);
    var product = packet.product;
    row(
      "product",
      t("product"),
      product ? [product.name, product.sku, product.price, t("stock", { n: product.stock })].join(" · ") : ""
    );
    var order = packet.order;
    var orderText = "";
    if (order && order.verified) {
      orderText = [
        order.order_no,
        order.status_text || order.status,
        t("total", { v: order.total }),
        order.tracking_no ? t("tracking", { v: (order.carrier || "") + " " + order.tracking_no }) : "",
      ]
        .filter(Boolean)
        .join(" · ");
    } else if (order) {
      orderText = t("orderUnverified", { no: order.order_no });
    }
    row("order", t("order"), orderText);
    if (packet.after_hours || packet.left_message) {
      row("contact", t("contact"), packet.contact || "");
      row("left_message", t("leftMessage"), packet.left_message || "");
    }
    var sums = el("ul", { class: "summaries" });
    (packet.summaries || []).forEach(function (item) {
      sums.appendChild(el("li", { text: "#" + item.seq + " " + String(item.summary || "") }));
    });
    row("summaries", t("summaries"), (packet.summaries || []).length ? sums : "");
    box.appendChild(dl);
  }

  function renderCanned(list) {
    ui.canned.textContent = "";
    list.forEach(function (item) {
      var button = el("button", {
        type: "button",
        class: "chip canned-item",
        "data-id": String(item.id),
        title: String(item.text || ""),
        text: String((LANG === "zh" ? item.title_zh : item.title_en) || item.title_en || ""),
      });
      button.addEventListener("click", function () {
        ui.input.value = String(item.text || "");
        ui.input.focus();
      });
      ui.canned.appendChild(button);
    });
  }

  // ------------------------------------------------------------- transport

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(scheme + "//" + window.location.host + WS_PATH);
    state.ws = ws;
    setStatus("connecting");
    ws.onopen = function () {
      state.retries = 0;
      setStatus("online");
    };
    ws.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame.type === "string") handle(frame);
    };
    ws.onclose = function (event) {
      if (state.ws !== ws) return;
      state.ws = null;
      if (event.code === 4403) {
        setStatus("forbidden");
        return;
      }
      setStatus("reconnecting");
      var delay = Math.min(30000, 1000 * Math.pow(2, state.retries)) * (0.75 + Math.random() * 0.5);
      state.retries += 1;
      setTimeout(connect, delay);
    };
  }

  function setStatus(s) {
    ui.status.setAttribute("data-state", s);
    ui.status.textContent = s === "online" ? t("online") : s === "reconnecting" ? t("reconnecting") : s === "forbidden" ? "403" : t("connecting");
  }

  function sendFrame(frame) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      showToast(t("reconnecting"));
      return false;
    }
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function handle(frame) {
    switch (frame.type) {
      case "queue":
        state.queue = Array.isArray(frame.items) ? frame.items : [];
        state.queueAt = Date.now();
        renderQueue();
        return;
      case "chat":
        onChat(frame);
        return;
      case "shopper":
      case "bot":
      case "agent":
      case "handoff":
        onLive(frame);
        return;
      case "ack":
        onAck(frame);
        return;
      case "error":
        onError(frame);
        return;
      default:
        return;
    }
  }

  function onAck(frame) {
    if (frame.action !== "message") return;
    var pending = state.pendingSends[frame.client_msg_id];
    delete state.pendingSends[frame.client_msg_id];
    var chat = state.chats[String(frame.conversation_id)];
    if (pending && chat) {
      drawFrame(chat, { type: "agent", seq: frame.seq, text: pending.text, agent: AGENT });
      scrollDown(chat);
    }
  }

  function onError(frame) {
    // A refused message goes back into the box so nothing typed is lost.
    Object.keys(state.pendingSends).forEach(function (id) {
      var pending = state.pendingSends[id];
      if (pending.conversation_id === frame.conversation_id && !ui.input.value) {
        ui.input.value = pending.text;
      }
      delete state.pendingSends[id];
    });
    showToast(String(frame.message || frame.code || "error"));
  }

  var toastTimer = null;
  function showToast(text) {
    ui.toast.textContent = text;
    ui.toast.hidden = false;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      ui.toast.hidden = true;
    }, 5000);
  }

  // ---------------------------------------------------------------- events

  function submitReply() {
    var text = ui.input.value.replace(/^\s+|\s+$/g, "");
    if (!text || !state.selected) return;
    var id = newId();
    if (sendFrame({ type: "message", conversation_id: state.selected, text: text, client_msg_id: id })) {
      state.pendingSends[id] = { conversation_id: state.selected, text: text };
      ui.input.value = "";
    }
  }

  function bindEvents() {
    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitReply();
    });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submitReply();
      }
    });
    ui.input.addEventListener("input", function () {
      var now = Date.now();
      if (state.selected && ui.input.value && now - state.lastTyping > 2500) {
        state.lastTyping = now;
        sendFrame({ type: "typing", conversation_id: state.selected });
      }
    });
    ui.release.addEventListener("click", function () {
      if (state.selected) sendFrame({ type: "release", conversation_id: state.selected });
    });
    ui.closeBtn.addEventListener("click", function () {
      ui.closeForm.hidden = false;
      ui.closeNote.focus();
    });
    ui.closeCancel.addEventListener("click", function () {
      ui.closeForm.hidden = true;
    });
    ui.closeConfirm.addEventListener("click", function () {
      if (!state.selected) return;
      var note = ui.closeNote.value.replace(/^\s+|\s+$/g, "");
      if (sendFrame({ type: "close", conversation_id: state.selected, note: note })) {
        ui.closeNote.value = "";
        ui.closeForm.hidden = true;
      }
    });
  }

  buildUi();
  bindEvents();
  renderQueue();
  renderTabs();
  connect();
  setInterval(tick, 1000);
})();
