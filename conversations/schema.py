"""GraphQL `order(orderNo)` (docs/protocol.md §8): an order only for its owner, a
logged-in user or a visitor who verified it in one of their conversations. It answers
null both for an order that does not exist and for one the caller may not see, so the
answer reveals nothing about other people's orders."""

import graphene

from catalog.models import Order
from catalog.schema import OrderType
from conversations import selectors
from csbot.identity import visitor_id_from_session


class Query(graphene.ObjectType):
    order = graphene.Field(OrderType, order_no=graphene.String(required=True))

    @staticmethod
    def resolve_order(root, info, order_no: str) -> Order | None:
        request = info.context
        session = getattr(request, "session", None)
        return selectors.order_for_viewer(
            order_no=order_no,
            user=getattr(request, "user", None),
            visitor_id=visitor_id_from_session(session, create=False)
            if session is not None
            else None,
        )
