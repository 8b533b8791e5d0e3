"""The cost rule for the answer threshold: the threshold of least expected cost, where a
wrong answer costs several times a deferral."""

import numpy as np

from intents.classifier import choose_threshold
from intents.classifier.evaluation import threshold_costs

# conf, predicted, gold: two right answers high, a wrong one in the middle, two
# out-of-scope rows (one answered with confidence 0.6), an in-scope row the model got wrong.
CONF = np.array([0.9, 0.8, 0.3, 0.2, 0.6, 0.1])
PRED = np.array(["a", "a", "b", "a", "b", "a"])
GOLD = np.array(["a", "a", "a", "oos", "oos", "b"])


def test_costs_count_wrong_answers_and_deferrals_per_question():
    candidates, costs = threshold_costs(CONF, PRED, GOLD, wrong_cost=4)
    by_t = dict(zip(candidates.round(6).tolist(), costs.round(6).tolist(), strict=True))
    # t=0.8: rows 0 and 1 answered right; in-scope rows 2 and 5 deferred (cost 1 each,
    # weighted 4 in-scope rows of 6): 2 * (4/6) / 4.
    assert by_t[0.8] == round(2 * (4 / 6) / 4, 6)
    # t=0.6: also the out-of-scope row at 0.6 answered (cost 4, weighted 2 oos of 6).
    assert by_t[0.6] == round(4 * (2 / 6) / 2 + 2 * (4 / 6) / 4, 6)
    # t=0: everything answered: two wrong in scope, two out of scope answered.
    assert by_t[0.0] == round(4 * (2 * (4 / 6) / 4 + 2 * (2 / 6) / 2), 6)


def test_the_cost_rule_picks_the_cheapest_threshold_and_moves_with_the_cost():
    assert choose_threshold(CONF, PRED, GOLD, rule="cost", wrong_cost=4)[0] == 0.8
    # When a wrong answer costs far less than a deferral, answering everything is cheapest.
    assert choose_threshold(CONF, PRED, GOLD, rule="cost", wrong_cost=0.1)[0] == 0.0


def test_the_out_of_scope_share_weighs_answered_out_of_scope_rows():
    def cost_of_answering_all(share: float) -> float:
        _, costs = threshold_costs(CONF, PRED, GOLD, wrong_cost=4, oos_share=share)
        return float(costs[0])

    # Two in-scope wrong answers and two answered out-of-scope rows at threshold 0:
    # 4 * (0.5 of traffic * 2/4 + 0.5 * 2/2) with half the traffic out of scope.
    assert cost_of_answering_all(0.5) == 4 * (0.5 * 2 / 4 + 0.5 * 2 / 2)
    assert cost_of_answering_all(0.9) > cost_of_answering_all(0.1)
