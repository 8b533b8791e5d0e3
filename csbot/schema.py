"""The GraphQL schema: each app contributes a Query mixin."""

import graphene

from catalog.schema import Query as CatalogQuery
from conversations.schema import Query as OrderQuery


class Query(CatalogQuery, OrderQuery, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query)
