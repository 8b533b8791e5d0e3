"""How a message relates to the conversation: the text-level cues the policy reads
before it decides.

- `clauses`: the questions of a message that asks several at once ("X5多少钱?包邮吗?").
- `mostly_slot`: a message that is little more than a value the bot asked for ("8000",
  "尾号8000", "the Lite"), which answers the pending question whatever else it resembles.
- `elliptical`: a follow-up that leans on the previous question ("那新疆呢", "what about
  the X5?", "and the watch?").
- `comparison`: a question that sets products side by side ("X5和X5 Lite有什么区别").
- `wanted_item`: the thing a "do you sell / 有没有 X" question asks for, so a thing the
  shop does not carry gets an honest answer instead of a guess.

Everything works on the normalised (lower-case, simplified) text.
"""

from __future__ import annotations

import re

# Where one question ends and the next begins.
_CLAUSE_END = re.compile(
    r"[?？!！。；;，,]+|\n+|\s+and\s+(?=(?:is|are|do|does|did|can|could|how|what|when|where|"
    r"which|will|would|should)\b)"
)
_CLAUSE_LEAD = re.compile(r"^\s*(?:另外|还有|以及|and also|also|and|那)\s*[,，]?\s*")
# Words that carry no question of their own around a slot value.
_FILLER = re.compile(
    r"订单号?|单号|手机号?|号码|电话|尾号|后四位|后4位|末四位|是|的|吧|啊|呀|哦|嗯|噢|了|我|"
    r"\b(?:my|phone|number|no|order|ends?|ending|in|with|it'?s|its|is|are|was|were|"
    r"last|four|digits?|code|the|one|i|meant|mean|sorry|oh|ok|okay|yes|please|pls|it|"
    r"they|they'?re|try|maybe|then|hmm|wait|how|about|what|must|be|should|think|guess|"
    r"that|so|ah|right|correct|actually)\b"
)
_PUNCT = re.compile(r"[\s\W_]+")
_ELLIPSIS = re.compile(
    r"^(?:那|那么|那个|还有)?[^?？]{0,16}(?:呢|怎么样|如何|咋样)[?？]?$"
    r"|^(?:what|how) about\b|^and (?:the |for |in |to )?\S|^(?:same|also) for\b"
)
_COMPARE = re.compile(
    r"区别|差别|差在|差多少|差几|差价|不同|对比|比较|哪个|哪款|哪一个|相比|比一比|一样吗|都有|分别|"
    r"\bgap\b|price difference|"
    r"\bvs\.?\b|\bversus\b|\bcompare|\bcomparison\b|difference|\bdiffer|\bwhich\b|"
    r"better|cheaper|more expensive|\bboth\b|\bsame\b|\beach\b"
)
_WANT = re.compile(
    r"(?:有没有|有无|有卖|卖不卖|是否有|有没|卖)\s*(?P<zh1>[^?？，,。!！吗呢]{1,12})"
    r"|(?P<zh2>[^?？，,。!！\s]{1,12}?)\s*(?:有卖吗|有吗|卖吗|有没有卖)"
    r"|^(?:你们|贵店|店里)?有(?P<zh3>[^?？，,。!！\s]{1,10})吗"
    r"|\bdo you (?:sell|have|carry|stock|offer)\s+(?:any\s+|a\s+|an\s+|the\s+)?"
    r"(?P<en>[a-z0-9][a-z0-9 \-]{1,30}?)(?:\s+(?:here|at all|too|as well))?\s*\??$"
    r"|\bdo you (?:sell|have|carry|stock)\s+(?:any\s+|a\s+|an\s+)?(?P<en2>[a-z0-9][a-z0-9\-]{1,20})"
)


_ORDERISH = re.compile(
    r"到哪|什么时候(?:能)?到|到了吗|到没到|发货|签收|物流|快递|订单|单子|那单|退款|"
    r"\b(?:arriv\w*|ship\w*|deliver\w*|orders?|track\w*|package|parcel|refund\w*)\b"
)


def about_an_order(text: str) -> bool:
    """Whether the text asks after an order (where it is, when it comes, its refund)."""
    return bool(_ORDERISH.search(text))


_CALLBACK = re.compile(
    r"联系我|打给我|回电|回个电话|给我打|打我电话|call me|call back|ring me|reach me|text me|"
    r"contact me|my number is|callback"
)
_IDENTITY = re.compile(
    r"你是(?:不是)?(?:机器人|真人|人工|ai|谁)|是机器人吗|是真人吗|是人吗|"
    r"\bare you (?:a |an )?(?:robot|bot|human|real|person|ai)\b|\bwho are you\b"
)
_RECOMMEND_WORDS = re.compile(
    r"推荐|一下|一部|一个|一款|一些|一本|好看的|好用的|好玩的|有什么|什么|给我|帮我|吧|呢|吗|请|"
    r"可以|能不能|能|有没有|几个|点|\b(?:recommend|suggest|me|a|an|some|good|nice|any|please|"
    r"can|could|you|what|do|have|i|need|want|for|to)\b"
)


def callback_request(text: str) -> bool:
    """The shopper leaves a number to be called back on (not an order's phone digits)."""
    return bool(_CALLBACK.search(text))


def identity_question(text: str) -> bool:
    """ "Are you a robot?" and the like."""
    return bool(_IDENTITY.search(text))


_RECOMMEND_ASK = re.compile(r"推荐|\brecommend|\bsuggest")


def recommend_subject(text: str) -> str:
    """What an explicit "recommend me X" asks for, once the asking words are gone ("电影"
    in "推荐一部好看的电影"); empty for a plain "what do you recommend", and for any text
    that does not ask for a recommendation in so many words."""
    if not _RECOMMEND_ASK.search(text):
        return ""
    return _PUNCT.sub(" ", _RECOMMEND_WORDS.sub(" ", text)).strip()


_QUESTION = re.compile(
    r"[?？]|吗|呢|多少|多久|多长|多大|多重|几|什么|谁|怎么|怎样|哪|能不能|可不可以|可以|是否|有没有|要不要|会不会|"
    r"\b(?:how|what|when|where|which|who|why|can|could|do|does|did|is|are|will|would|should)\b"
)


def clauses(text: str) -> list[str]:
    """The questions of a message that asks several at once, in order; a single item
    when it asks one. The text is split at sentence ends, commas and "and is/are/does…";
    only pieces that read as questions count ("耳机坏了，我要换货" is one request, not
    two questions). The policy answers several only when each is understood with
    confidence and they ask different things."""
    parts = [_CLAUSE_LEAD.sub("", p).strip(" ,，") for p in _CLAUSE_END.split(text)]
    parts = [p for p in parts if len(_PUNCT.sub("", p)) >= 2]
    questions = [p for p in parts if _QUESTION.search(p)]
    return questions if len(questions) >= 2 else [text]


def residue(text: str, slot_texts: list[str]) -> str:
    """The message without its slot values and the filler words around them."""
    rest = text
    for value in sorted((s for s in slot_texts if s), key=len, reverse=True):
        rest = rest.replace(value.lower(), " ")
    rest = re.sub(r"dd\s?\d{12}|\d+", " ", rest)
    rest = _FILLER.sub(" ", rest)
    return _PUNCT.sub("", rest)


def mostly_slot(text: str, slot_texts: list[str]) -> bool:
    """Whether the message is little more than the slot values it carries."""
    return len(residue(text, slot_texts)) <= 2


def elliptical(text: str) -> bool:
    """A follow-up that leans on the previous question for what it asks ("XXXL呢？我比较胖":
    its first sentence is enough)."""
    first = re.split(r"(?<=[?？!！。])", text.strip(), maxsplit=1)[0]
    return bool(_ELLIPSIS.search(first.strip()))


def comparison(text: str) -> bool:
    return bool(_COMPARE.search(text))


def wanted_item(text: str) -> str | None:
    """The thing a "do you sell X" / "有没有X" question asks for, as written."""
    match = _WANT.search(text.strip())
    if not match:
        return None
    item = next((g for g in match.groups() if g), "")
    item = re.sub(r"^(?:什么|啥|这个|那个|一些|一款|一个|个|款|点)|(?:吗|呢|啊|呀)$", "", item)
    item = re.sub(r"\b(?:for sale|please|pls)\b", "", item).strip(" ?.")
    return item or None
