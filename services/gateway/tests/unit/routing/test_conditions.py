import pytest
from portcullis_gateway.routing import evaluate
from portcullis_gateway.routing.conditions import compile_query

CONTEXT = {
    "metadata": {"plan": "paid", "region": "eu-west", "tier": "3"},
    "params": {"model": "gpt-4o", "temperature": 0.2, "max_tokens": 500, "stream": True},
    "url": {"pathname": "/v1/chat/completions"},
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"metadata.plan": "paid"}, True),
        ({"metadata.plan": {"$eq": "free"}}, False),
        ({"metadata.plan": {"$ne": "free"}}, True),
        ({"metadata.missing": {"$ne": "x"}}, True),
        ({"params.max_tokens": {"$gt": 499}}, True),
        ({"params.max_tokens": {"$gte": 500}}, True),
        ({"params.max_tokens": {"$lt": 500}}, False),
        ({"params.temperature": {"$lte": 0.2}}, True),
        ({"params.max_tokens": {"$gt": "100"}}, False),  # a number is not above a string
        ({"metadata.missing": {"$lt": 5}}, False),
        ({"params.model": {"$in": ["gpt-4o", "gpt-4.1"]}}, True),
        ({"params.model": {"$nin": ["gpt-4o"]}}, False),
        ({"metadata.missing": {"$nin": ["a"]}}, True),
        ({"metadata.region": {"$regex": "^eu-"}}, True),
        ({"metadata.region": {"$regex": "^us-"}}, False),
        ({"url.pathname": {"$regex": "/chat/"}}, True),
        ({"params.stream": True}, True),
        ({"params.max_tokens": {"$gt": 100, "$lt": 400}}, False),
        ({"metadata.plan": "paid", "params.model": "gpt-4o"}, True),
        ({"$and": [{"metadata.plan": "paid"}, {"params.model": "gpt-3.5"}]}, False),
        ({"$or": [{"metadata.plan": "free"}, {"params.model": "gpt-4o"}]}, True),
        (
            {"$or": [{"metadata.plan": "free"}, {"$and": [{"metadata.tier": "3"}]}]},
            True,
        ),
    ],
)
def test_operators(query, expected):
    assert evaluate(compile_query(query, "q"), CONTEXT) is expected


def test_a_boolean_is_not_a_number_for_ordering():
    assert not evaluate(compile_query({"params.stream": {"$gt": 0}}, "q"), CONTEXT)
