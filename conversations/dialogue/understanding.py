"""Intent understanding behind one small interface, so the classifier can be swapped.

`KeywordUnderstanding` is the fallback router: weighted keyword cues per taxonomy label,
in Chinese and English, used until an intent model is trained. `FastTextUnderstanding`
is the trained model behind the same calls; the reply pipeline classifies a batch with
one `classify_many`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import ahocorasick
from django.conf import settings

from intents.runtime import active_classifier


@dataclass(frozen=True)
class IntentResult:
    label: str | None
    confidence: float
    # Best labels first, with their scores, for clarification prompts.
    candidates: list[tuple[str, float]] = field(default_factory=list)
    # Confidence below this clarifies, then hands off.
    threshold: float = 0.7


class Understanding(Protocol):
    def classify(self, text: str, *, lang: str) -> IntentResult: ...

    def classify_many(self, texts: Sequence[str], *, langs: Sequence[str]) -> list[IntentResult]:
        """`classify` for a batch, in order (a model may predict them together)."""
        ...


# label -> cues. A cue is a plain substring of the normalised text; a cue
# starting with "re:" is a regular expression (word boundaries for English).
CUES: dict[str, list[str]] = {
    "consult.logistics.shipping_fee": [
        "运费",
        "邮费",
        "包邮",
        "快递费",
        "免运费",
        "配送费",
        r"re:\bshipping (fee|cost|charge|price)s?\b",
        r"re:\bfree shipping\b",
        r"re:\bpostage\b",
        r"re:\bdelivery (fee|cost|charge)s?\b",
        r"re:\bhow much (is|for) (shipping|delivery)\b",
    ],
    "consult.logistics.delivery_time": [
        "多久到",
        "几天到",
        "多久能到",
        "几天能到",
        "什么时候发货",
        "多久发货",
        "几点前",
        "当天发",
        "什么时候到",
        "发什么快递",
        "哪家快递",
        r"re:\bhow long\b.*\b(deliver|delivery|ship|shipping|arrive|take)",
        r"re:\bwhen will\b.*\b(ship|arrive)",
        r"re:\bdelivery time\b",
        r"re:\bsame[- ]day\b",
        r"re:\bwhich (carrier|courier)\b",
        r"re:\bdispatch",
    ],
    "consult.logistics.order_status": [
        "订单状态",
        "我的订单",
        "查订单",
        "查一下订单",
        "订单到哪",
        "物流",
        "到哪了",
        "快递到哪",
        "发货了吗",
        "查单",
        r"re:\border status\b",
        r"re:\bwhere is my (order|package|parcel)\b",
        r"re:\btrack(ing)?\b",
        r"re:\bmy order\b",
        r"re:\bhas my order\b",
        r"re:\bcheck (my |an |the )?order\b",
    ],
    "consult.product.price": [
        "多少钱",
        "价格",
        "价钱",
        "售价",
        "几块",
        "多少元",
        "贵不贵",
        r"re:\bprice\b",
        r"re:\bhow much\b",
        r"re:\bcost\b",
    ],
    "consult.product.stock": [
        "有货",
        "有没有货",
        "库存",
        "缺货",
        "现货",
        "到货",
        "补货",
        "卖完",
        "还有吗",
        r"re:\bin stock\b",
        r"re:\bstock\b",
        r"re:\bavailable\b",
        r"re:\brestock",
        r"re:\bsold out\b",
    ],
    "consult.product.spec": [
        "参数",
        "规格",
        "支持",
        "屏幕",
        "电池",
        "续航",
        "无线充",
        "快充",
        "防水",
        "尺码",
        "颜色",
        "重量",
        "多重",
        "内存",
        "存储",
        "蓝牙",
        "降噪",
        "保温",
        "心率",
        "多大",
        r"re:\bspecs?\b",
        r"re:\bspecification",
        r"re:\bsupport",
        r"re:\bbattery\b",
        r"re:\bscreen\b",
        r"re:\bwireless\b",
        r"re:\bwaterproof\b",
        r"re:\bwater resist",
        r"re:\bsizes?\b",
        r"re:\bcolou?rs?\b",
        r"re:\bweigh",
        r"re:\bstorage\b",
        r"re:\bbluetooth\b",
        r"re:\bnoise cancel",
        r"re:\bcharging\b",
    ],
    "consult.product.recommend": [
        "推荐",
        "哪款好",
        "买哪个",
        "有什么好",
        r"re:\brecommend",
        r"re:\bsuggest",
        r"re:\bwhich (one|phone|product) should\b",
    ],
    "consult.payment.methods": [
        "支付方式",
        "付款方式",
        "怎么付款",
        "怎么支付",
        "支付宝",
        "微信支付",
        "银联",
        "能用什么付",
        r"re:\bpayment methods?\b",
        r"re:\bhow (can|do) i pay\b",
        r"re:\bpay (with|by|via)\b",
        r"re:\balipay\b",
        r"re:\bwechat pay\b",
        r"re:\bunionpay\b",
    ],
    "consult.payment.installment": [
        "分期",
        "免息",
        r"re:\binstall?ments?\b",
        r"re:\binterest[- ]free\b",
    ],
    "consult.payment.invoice": ["发票", "开票", r"re:\binvoices?\b", r"re:\breceipt\b"],
    "after_sales.product.return": [
        "退货",
        "退掉",
        "七天无理由",
        "7天无理由",
        "无理由退",
        r"re:\breturn\b",
        r"re:\breturns\b",
        r"re:\bsend (it )?back\b",
    ],
    "after_sales.product.exchange": [
        "换货",
        "换一个",
        "换个",
        "调换",
        r"re:\bexchange\b",
        r"re:\bswap\b",
    ],
    "after_sales.product.warranty": [
        "保修",
        "质保",
        "保固",
        r"re:\bwarranty\b",
        r"re:\bguarantee\b",
    ],
    "after_sales.logistics.change_address": [
        "改地址",
        "修改地址",
        "地址写错",
        "换地址",
        "更改地址",
        "改收货",
        r"re:\bchange (the |my )?(shipping |delivery )?address\b",
        r"re:\bwrong address\b",
    ],
    "after_sales.logistics.lost_damaged": [
        "丢件",
        "丢了",
        "破损",
        "压坏",
        "摔坏",
        "没收到",
        "少发",
        "漏发",
        r"re:\blost\b",
        r"re:\bdamaged\b",
        r"re:\bbroken\b",
        r"re:\bnever (arrived|received)\b",
    ],
    "after_sales.logistics.urge": [
        "催",
        "快点发",
        "怎么还没发",
        "还没发货",
        "怎么还没到",
        r"re:\bhurry\b",
        r"re:\bspeed up\b",
        r"re:\bstill (hasn't|has not|not) (shipped|arrived)\b",
    ],
    "after_sales.payment.refund_status": [
        "退款",
        "钱退",
        "退钱",
        "退到哪",
        "到账",
        "多久到账",
        r"re:\brefund",
        r"re:\bmoney back\b",
    ],
    "after_sales.payment.price_protection": [
        "保价",
        "降价",
        "差价",
        r"re:\bprice protection\b",
        r"re:\bprice (drop|dropped|went down)\b",
    ],
    "complaint.product.quality": [
        "质量太差",
        "质量差",
        "质量问题",
        "假货",
        "劣质",
        r"re:\bpoor quality\b",
        r"re:\bfake\b",
        r"re:\bterrible quality\b",
    ],
    "complaint.logistics.service": [
        "投诉",
        "服务太差",
        "态度差",
        "太慢了",
        r"re:\bcomplain",
        r"re:\bterrible service\b",
        r"re:\bawful\b",
        r"re:\bunacceptable\b",
    ],
    "complaint.payment.charge": [
        "多扣",
        "扣了两次",
        "重复扣款",
        "乱扣费",
        r"re:\bcharged twice\b",
        r"re:\bovercharged\b",
        r"re:\bdouble charged\b",
    ],
    "general.chat.greeting": [
        "你好",
        "您好",
        "在吗",
        "在不在",
        "哈喽",
        "嗨",
        r"re:^(hi|hello|hey|good (morning|afternoon|evening))\b",
    ],
    "general.chat.thanks": [
        "谢谢",
        "感谢",
        "多谢",
        r"re:\bthanks?\b",
        r"re:\bthank you\b",
        r"re:\bthx\b",
    ],
    "general.chat.goodbye": ["再见", "拜拜", r"re:\bbye\b", r"re:\bgoodbye\b", r"re:\bsee you\b"],
    "general.chat.human": [
        "人工",
        "转人工",
        "真人",
        "客服",
        r"re:\bhuman\b",
        r"re:\b(real )?person\b",
        r"re:\bagent\b",
        r"re:\bsomeone\b",
        r"re:\brepresentative\b",
    ],
}

# Labels the policy answers even without any cue (an order number alone, say)
# are handled by slot filling, not here.


def _keyword_threshold() -> float:
    override = settings.CSBOT_HANDOFF_THRESHOLD
    return 0.7 if override is None else override


class KeywordUnderstanding:
    """Scores each label by the length of the cues it matches; longer cues are
    more specific, so they weigh more. Confidence is the winner's share."""

    def __init__(self, cues: dict[str, list[str]] | None = None) -> None:
        # Plain cues are found in one pass of an Aho–Corasick automaton (every cue, at
        # every place, overlapping ones too); a cue counts once per text, as `in` would.
        # Regex cues ("re:...") are searched one by one.
        self._labels: list[str] = []
        self._patterns: list[list[re.Pattern[str]]] = []
        plain: dict[str, list[int]] = {}
        for label, label_cues in (cues or CUES).items():
            position = len(self._labels)
            self._labels.append(label)
            patterns = []
            for cue in label_cues:
                if cue.startswith("re:"):
                    patterns.append(re.compile(cue[3:]))
                elif cue:
                    plain.setdefault(cue, []).append(position)
            self._patterns.append(patterns)
        self._automaton: ahocorasick.Automaton | None = None
        if plain:
            self._automaton = ahocorasick.Automaton()
            for cue, positions in plain.items():
                self._automaton.add_word(cue, (cue, 1.0 + 0.25 * len(cue), tuple(positions)))
            self._automaton.make_automaton()

    def classify(self, text: str, *, lang: str) -> IntentResult:
        totals = [0.0] * len(self._labels)
        if self._automaton is not None:
            seen: set[str] = set()
            for _end, (cue, weight, positions) in self._automaton.iter(text):
                if cue in seen:
                    continue
                seen.add(cue)
                for position in positions:
                    totals[position] += weight
        for position, patterns in enumerate(self._patterns):
            for pattern in patterns:
                match = pattern.search(text)
                if match:
                    # Longer matched phrases are more specific.
                    totals[position] += 1.0 + 0.1 * len(match.group(0))
        scores = {label: score for label, score in zip(self._labels, totals, strict=True) if score}
        if not scores:
            return IntentResult(label=None, confidence=0.0, threshold=_keyword_threshold())
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        total = sum(scores.values())
        best_label, best = ranked[0]
        confidence = round(min(0.99, 0.55 + 0.45 * best / total), 3) if total else 0.0
        if len(ranked) > 1 and ranked[1][1] == best:
            confidence = 0.5
        candidates = [(label, round(score / total, 3)) for label, score in ranked[:3]]
        return IntentResult(
            label=best_label,
            confidence=confidence,
            candidates=candidates,
            threshold=_keyword_threshold(),
        )

    def classify_many(self, texts: Sequence[str], *, langs: Sequence[str]) -> list[IntentResult]:
        return [self.classify(t, lang=lang) for t, lang in zip(texts, langs, strict=True)]


class FastTextUnderstanding:
    """The active FastText intent model (intents.runtime), with its calibrated
    confidence and the threshold chosen on validation data; the
    CSBOT_HANDOFF_THRESHOLD setting overrides that threshold when set."""

    def __init__(self, classifier) -> None:
        self.classifier = classifier

    def classify(self, text: str, *, lang: str) -> IntentResult:
        return self._result(self.classifier.predict(text, k=3))

    def classify_many(self, texts: Sequence[str], *, langs: Sequence[str]) -> list[IntentResult]:
        """One matrix product per ensemble member for the whole batch (`predict_many`)
        instead of one per text; identical results to `classify`."""
        if not texts:
            return []
        unique = list(dict.fromkeys(texts))
        predicted = dict(zip(unique, self.classifier.predict_many(unique, k=3), strict=True))
        return [self._result(predicted[text]) for text in texts]

    def _result(self, prediction) -> IntentResult:
        override = settings.CSBOT_HANDOFF_THRESHOLD
        threshold = self.classifier.threshold if override is None else override
        return IntentResult(
            label=prediction.top_label,
            confidence=round(float(prediction.confidence), 3),
            candidates=[(label, round(float(p), 3)) for label, p in prediction.candidates],
            threshold=threshold,
        )


_keywords: KeywordUnderstanding | None = None


def get_understanding() -> Understanding:
    """The active FastText model when one is trained and active, else the keyword router."""
    global _keywords

    classifier = active_classifier()
    if classifier is not None:
        return FastTextUnderstanding(classifier)
    if _keywords is None:
        _keywords = KeywordUnderstanding()
    return _keywords
