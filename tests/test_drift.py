"""Tests of course_lib.inference.drift: training-feature profiles, batches checked against them."""

from __future__ import annotations

import html

import numpy as np
import pytest

from course_lib.errors import InvalidInputError
from course_lib.inference import FeatureCheckResult, FeatureMismatchError, FeatureProfile


@pytest.fixture(scope="module")
def profile(fraud):
    return FeatureProfile.from_data(fraud.train.x, fraud.feature_names)


class TestFeatureProfile:
    def test_records_training_statistics(self, fraud, profile):
        assert profile.names == fraud.feature_names and profile.n_rows == len(fraud.train)
        np.testing.assert_allclose(profile.mean, fraud.train.x.astype(np.float64).mean(axis=0))
        np.testing.assert_allclose(profile.high, fraud.train.x.max(axis=0))

    def test_default_names(self):
        assert FeatureProfile.from_data(np.zeros((3, 2))).names == ("feature_0", "feature_1")

    def test_wrong_number_of_names_raises(self):
        with pytest.raises(InvalidInputError, match="one unique name per column"):
            FeatureProfile.from_data(np.zeros((3, 2)), ["a"])

    def test_empty_data_raises(self):
        with pytest.raises(InvalidInputError, match="at least one row"):
            FeatureProfile.from_data(np.zeros((0, 2)))


class TestFeatureProfileCheck:
    def test_test_rows_look_like_training_rows(self, fraud, profile):
        check = profile.check(fraud.test.x)
        assert check.ok and check.problems == () and check.verdict.startswith("OK")

    def test_swapped_columns_are_caught_and_named(self, fraud, profile):
        swapped = fraud.test.x[:, [2, 1, 0, 3, 4, 5, 6, 7]]  # amount <-> distance_km
        check = profile.check(swapped)
        assert not check.ok
        assert [(d.name, d.looks_like) for d in check.problems] == [
            ("amount", "distance_km"), ("distance_km", "amount")]
        assert "swapped columns: check the column order" in check.verdict

    def test_swapped_binary_flags_are_caught(self, fraud, profile):
        swapped = fraud.test.x[:, [0, 1, 2, 3, 4, 6, 5, 7]]  # foreign <-> card_present
        problems = profile.check(swapped).problems
        assert [d.looks_like for d in problems] == ["card_present", "foreign"]

    def test_a_changed_unit_is_caught_without_a_lookalike(self, fraud, profile):
        cents = fraud.test.x.copy()
        cents[:, 0] *= 100  # amount in cents instead of euros
        check = profile.check(cents)
        (drift,) = check.problems
        assert drift.name == "amount" and drift.looks_like is None and drift.outside > 0.5
        assert check.verdict == ("NOT OK: amount differs from the training data; "
                                 "check the units and the preprocessing")

    def test_shift_is_in_training_standard_deviations(self):
        p = FeatureProfile.from_data([[0.0], [2.0]] * 20)  # mean 1, std 1
        assert p.check([[3.0], [5.0]] * 20, max_outside=1.0).rows[0].shift == pytest.approx(3.0)

    def test_constant_training_column(self):
        p = FeatureProfile.from_data([[1.0, 0.0], [1.0, 1.0]] * 20)
        assert p.check([[1.0, 0.0], [1.0, 1.0]] * 20).ok
        assert p.check([[2.0, 0.0], [2.0, 1.0]] * 20).problems[0].shift == np.inf

    def test_wrong_number_of_columns_raises(self, fraud, profile):
        with pytest.raises(FeatureMismatchError, match=r"8 values on axis 1 \(amount, .*found 7"):
            profile.check(fraud.test.x[:, :7])

    def test_too_few_rows_raise(self, fraud, profile):
        with pytest.raises(InvalidInputError, match="30 rows to compare statistics; found 1"):
            profile.check(fraud.test.x[:1])

    def test_nan_raises(self, profile):
        x = np.zeros((40, 8))
        x[3, 2] = np.nan
        with pytest.raises(InvalidInputError, match="finite values"):
            profile.check(x)

    @pytest.mark.parametrize("kw", [{"tolerance": 0}, {"max_outside": 2}, {"min_rows": 0}])
    def test_bad_settings_raise(self, fraud, profile, kw):
        with pytest.raises(InvalidInputError, match="expected (tolerance|max_outside|min_rows)"):
            profile.check(fraud.test.x, **kw)

    def test_raise_if_not_ok(self, fraud, profile):
        assert profile.check(fraud.test.x).raise_if_not_ok().ok
        with pytest.raises(FeatureMismatchError, match="amount .looks like distance_km."):
            profile.check(fraud.test.x[:, [2, 1, 0, 3, 4, 5, 6, 7]]).raise_if_not_ok()

    def test_repr_names_the_problems(self, fraud, profile):
        assert repr(profile.check(fraud.test.x[:, [2, 1, 0, 3, 4, 5, 6, 7]])) == \
            "FeatureCheckResult(ok=False, n_rows=4001, problems=['amount', 'distance_km'])"

    def test_text_and_html_have_a_row_per_feature(self, fraud, profile):
        check = profile.check(fraud.test.x)
        assert len(str(check).splitlines()) == 1 + 8 + 1
        assert check._repr_html_().count("<tr>") == 1 + 8

    def test_report_has_ok_verdict_and_failures(self, fraud, profile):
        good = profile.check(fraud.test.x)
        bad = profile.check(fraud.test.x[:, [2, 1, 0, 3, 4, 5, 6, 7]])
        assert isinstance(good, FeatureCheckResult)
        assert (good.ok, bad.ok) == (True, False) and bad.failures == bad.problems
        assert str(bad).splitlines()[-1] == bad.verdict
        assert "DIFFERS: looks like distance_km" in str(bad).splitlines()[1]
        assert html.escape(bad.verdict) in bad._repr_html_()



class TestTabularOnly:
    def test_images_are_refused_with_the_reason(self):
        with pytest.raises(InvalidInputError, match=r"found shape \(40, 8, 8, 1\) \(images or "
                                                    "sequences"):
            FeatureProfile.from_data(np.zeros((40, 8, 8, 1)))

    def test_checking_images_is_refused_too(self):
        profile = FeatureProfile.from_data(np.zeros((40, 2)))
        with pytest.raises(InvalidInputError, match="FeatureProfile.check: it compares each column"):
            profile.check(np.zeros((40, 2, 1, 1)))

    def test_a_dict_of_inputs_asks_for_one_profile_per_input(self):
        x = {"mean": np.zeros((40, 10)), "worst": np.zeros((40, 10))}
        with pytest.raises(InvalidInputError, match=r"found 2 inputs 'mean', 'worst'. Fix: one "
                                                    r"profile per input"):
            FeatureProfile.from_data(x)

    def test_one_profile_per_input_of_a_dict_works(self):
        x = {"mean": np.arange(80.0).reshape(40, 2), "worst": np.ones((40, 3))}
        profiles = {name: FeatureProfile.from_data(x[name]) for name in x}
        assert all(profiles[name].check(x[name]).ok for name in x)
