"""Every project metric, in one place. Names start with `csbot_` (a contract)."""

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

messages_total = Counter(
    "csbot_messages_total", "Chat messages stored, by sender and channel.", ["sender", "channel"]
)
replies_total = Counter(
    "csbot_replies_total",
    "Bot replies sent, by intent (level 1) and outcome.",
    ["intent", "outcome"],
)
reply_latency_seconds = Histogram(
    "csbot_reply_latency_seconds",
    "Time from storing a shopper message to storing the bot reply.",
    buckets=LATENCY_BUCKETS,
)
stage_latency_seconds = Histogram(
    "csbot_stage_latency_seconds",
    "Time spent in each reply pipeline stage.",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
handoffs_total = Counter("csbot_handoffs_total", "Handoffs to a human, by reason.", ["reason"])
frame_errors_total = Counter(
    "csbot_frame_errors_total", "Refused frames and requests, by error code.", ["code"]
)
connected_sockets = Gauge("csbot_connected_sockets", "Open WebSocket connections.", ["kind"])
sweep_requeued_total = Counter(
    "csbot_sweep_requeued_total", "Shopper messages the sweep re-queued for a reply."
)

# --- Inference: LLM wording, batching, reply tasks -----------------------
llm_requests_total = Counter(
    "csbot_llm_requests_total",
    "Answers put to the wording stage, by backend and result (model, cached, or fallback).",
    ["backend", "result"],
)
llm_fallbacks_total = Counter(
    "csbot_llm_fallbacks_total",
    "Template answers sent instead of the model's, by reason.",
    ["backend", "reason"],
)
llm_latency_seconds = Histogram(
    "csbot_llm_latency_seconds",
    "Time the wording stage waited for a backend.",
    ["backend"],
    buckets=LATENCY_BUCKETS,
)
llm_retries_total = Counter(
    "csbot_llm_retries_total", "Retried calls to an OpenAI-compatible endpoint.", ["reason"]
)
llm_breaker_state = Gauge(
    "csbot_llm_breaker_open", "1 while the LLM endpoint's circuit breaker is open.", ["backend"]
)
llm_batch_size = Histogram(
    "csbot_llm_batch_size",
    "Requests merged into one local generate call.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
task_redeliveries_total = Counter(
    "csbot_task_redeliveries_total",
    "Reply tasks delivered again after a lost worker, by what was done.",
    ["action"],
)
handoff_wait_seconds = Histogram(
    "csbot_handoff_wait_seconds",
    "Time a handoff request waited in the queue before an agent took it.",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600),
)
handoffs_ended_total = Counter(
    "csbot_handoffs_ended_total", "Handoffs ended by an agent, by outcome.", ["outcome"]
)
csat_scores_total = Counter("csbot_csat_scores_total", "CSAT answers, by score.", ["score"])
images_total = Counter(
    "csbot_images_total",
    "Chat pictures: received, then read with an outcome (order, product, text, nothing).",
    ["outcome"],
)
image_stage_seconds = Histogram(
    "csbot_image_stage_seconds",
    "Time spent reading a chat picture, by stage (ocr, search).",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)

# --- safety and privacy (safety app) ---
safety_hits_total = Counter(
    "csbot_safety_hits_total",
    "Banned-word hits, by source (shopper/bot/agent), action taken and category.",
    ["source", "action", "category"],
)
pii_masked_total = Counter(
    "csbot_pii_masked_total", "Pieces of personal data masked, by kind.", ["kind"]
)
sentiment_total = Counter(
    "csbot_sentiment_total", "Shopper messages scored, by sentiment label.", ["label"]
)
privacy_deletions_total = Counter(
    "csbot_privacy_deletions_total",
    "Chat data deletions: shopper or operator requests, and conversations removed by retention.",
    ["kind"],
)
order_updates_total = Counter(
    "csbot_order_updates_total",
    "Order status changes pushed to shoppers' open chats (frames sent, by status).",
    ["status"],
)
order_webhooks_total = Counter(
    "csbot_order_webhooks_total",
    "Order-status webhook deliveries, by result (accepted or the refusal code).",
    ["result"],
)
alerts_opened_total = Counter(
    "csbot_alerts_opened_total",
    "Alerts that started firing (database evaluation), by rule.",
    ["rule"],
)
