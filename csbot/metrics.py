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
