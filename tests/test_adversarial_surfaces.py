"""The surfaces of issue 28 tried as an adversary would: each case refused clearly, warned, or right.

Saved input contracts, the command line, lead layouts, zero-shot classes,
persistence and the training's divergence judge.
"""

import warnings

import numpy as np
import pytest
from skorch.callbacks import Callback

from sklearn_ecg import ECGClassifier, LCDPretrainer
from sklearn_ecg.datasets import load_ptbxl_sample

LCD_TINY = dict(width=1 / 32, projector_dim=8, predictor_dim=8, max_epochs=1, batch_size=16,
                random_state=0, device="cpu")
CLF_TINY = dict(architecture="lcd", encoder_params={"width": 1 / 32}, max_epochs=1, batch_size=16,
                random_state=0, device="cpu")


@pytest.fixture(scope="module")
def sample():
    return load_ptbxl_sample()


def _fitted_state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}


# -- item 1: divergence judged by what diverged ------------------------------------------------


def test_diverged_classifier_is_refused_by_its_loss_and_the_fitted_one_kept(sample):
    X, y = sample.X[:32, :, :200], np.arange(32) % 2
    clf = ECGClassifier(**{**CLF_TINY, "validation_fraction": None}).fit(X, y)
    before = _fitted_state(clf)
    proba = clf.predict_proba(X)
    # The case of the issue: the largest weight stays under the weight bound.
    with pytest.raises(FloatingPointError, match="training loss went from"):
        clf.set_params(lr=1000.0, max_epochs=2, batch_size=8, encoder_params=None).fit(X, y)
    assert _fitted_state(clf).keys() == before.keys()
    assert all(_fitted_state(clf)[k] is v for k, v in before.items())
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_divergence_judge_names_exploding_batchnorm_and_collapsed_outputs():
    import torch

    from sklearn_ecg._base import judge_divergence

    module = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.BatchNorm1d(2))
    history = [{"batches": [{"train_loss": 0.7}], "train_loss": 0.6}]
    inputs = np.random.default_rng(0).normal(size=(4, 1, 16))
    judge_divergence("M", module, history, 0, np.random.default_rng(1).normal(size=(4, 2)), inputs)
    with torch.no_grad():
        module[1].running_var.fill_(8e16)
    with pytest.raises(FloatingPointError, match="BatchNorm statistic '1.running_var'"):
        judge_divergence("M", module, history, 0, np.zeros((4, 2)), inputs)
    with torch.no_grad():
        module[1].running_var.fill_(1.0)
    with pytest.raises(FloatingPointError, match="collapsed"):
        judge_divergence("M", module, history, 0, np.tile([[1e4, -1e4]], (4, 1)), inputs)
    with pytest.raises(FloatingPointError, match="exploding"):
        judge_divergence("M", module, history, 0, np.full((4, 2), 1e12), inputs)
    # A loss judged from this fit's start: an earlier fit's history is not this one's.
    grown = history + [{"batches": [{"train_loss": 500.0}], "train_loss": 800.0}]
    judge_divergence("M", module, grown, 1, np.random.default_rng(1).normal(size=(4, 2)), inputs)
    with pytest.raises(FloatingPointError, match="from 0.7"):
        judge_divergence("M", module, grown, 0, np.random.default_rng(1).normal(size=(4, 2)), inputs)
    # Records equal up to scale may rightly give one output.
    same = np.stack([inputs[0] * k for k in (1, 2, 3, 4)])
    judge_divergence("M", module, history, 0, np.tile([[1e4, -1e4]], (4, 1)), same)


class _RaisesKeyboardInterrupt(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise KeyboardInterrupt


def test_a_callback_raising_keyboard_interrupt_is_warned_about(sample):
    X = sample.X[:32, :2, :128]
    with pytest.warns(UserWarning, match="callback raised KeyboardInterrupt at epoch 1 of 3"):
        lcd = LCDPretrainer(**{**LCD_TINY, "max_epochs": 3},
                            callbacks=[_RaisesKeyboardInterrupt()]).fit(X)
    assert len(lcd.history_) == 1


def test_early_stopping_is_not_warned_about(sample):
    from skorch.callbacks import EarlyStopping

    X = sample.X[:32, :2, :128]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LCDPretrainer(**{**LCD_TINY, "max_epochs": 4},
                      callbacks=[EarlyStopping(patience=1, threshold=1e9)]).fit(X)


def test_all_zero_class_weights_are_refused_for_what_they_are(sample):
    X, y = sample.X[:32, :2, :128], np.arange(32) % 2
    with pytest.raises(ValueError, match="weight 0 to every class"):
        ECGClassifier(**CLF_TINY, class_weight={0: 0, 1: 0}).fit(X, y)


def test_a_validation_fraction_leaving_no_training_records_is_explained(sample):
    X, y = sample.X[:32, :2, :128], np.arange(32) % 2
    with pytest.raises(ValueError, match="at least 2 records must stay for training"):
        ECGClassifier(**CLF_TINY, validation_fraction=0.99).fit(X, y)


# -- item 2: a saved input contract is validated on load as on fit -----------------------------


@pytest.fixture(scope="module")
def lcd_folder(sample, tmp_path_factory):
    X = sample.X[:32, :, :256]
    lcd = LCDPretrainer(**LCD_TINY, fs=100, lead_names=sample.lead_names).fit(X)
    return lcd.save_pretrained(tmp_path_factory.mktemp("lcd") / "model")


def _edited(folder, tmp_path, edit):
    import json
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(folder, copy)
    config = json.loads((copy / "config.json").read_text())
    edit(config)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def _set_input(key, value):
    def edit(config):
        config["input"][key] = value
    return edit


@pytest.mark.parametrize("edit, match", [
    (_set_input("fs", 0), "fs must be a sampling rate in Hz between 1 and 100000; got 0"),
    (_set_input("fs", -100), "got -100"),
    (_set_input("fs", 1e308), "between 1 and 100000"),
    (_set_input("lead_names", ["I", "II", "III", "V1", "V2", "V3", "V4", "V5"]),
     "names 8 lead.*for n_leads=12"),
    (_set_input("lead_names", ["II"] * 12), "names lead.*II more than once"),
    (_set_input("units", "furlongs"), "units are 'furlongs'"),
    (_set_input("n_timepoints", -5), "n_timepoints is -5"),
    (_set_input("n_leads", 0), "n_leads is 0"),
    (_set_input("standardize", True), "'standardize' is True"),
    (_set_input("amplitude", -1.0), "amplitude"),
    (lambda c: c.__setitem__("input", [1, 2]), "input contract is a list"),
    (lambda c: c["fitted"].__setitem__("n_timepoints_", 300), "n_timepoints is 256 but the model's is 300"),
], ids=["fs0", "fs-100", "fs1e308", "8names", "dupes", "units", "length", "nleads", "standardize",
        "amplitude", "list", "n_timepoints_"])
def test_an_invalid_saved_contract_is_refused_naming_the_file(lcd_folder, tmp_path, edit, match):
    from sklearn_ecg import load_pretrained
    from sklearn_ecg._persistence import PretrainedModelError

    folder = _edited(lcd_folder, tmp_path, edit)
    with pytest.raises(PretrainedModelError, match=match) as info:
        load_pretrained(folder, device="cpu")
    assert "config.json" in str(info.value)


def test_the_contract_is_checked_by_one_function_on_fit_too():
    from sklearn_ecg.input_contract import InputContract, validate_contract

    with pytest.raises(ValueError, match="names 1 lead"):
        validate_contract(InputContract(n_leads=2, lead_names=("I",)))
    with pytest.raises(ValueError, match=r"'fs' parameter .* in the range \[1.0, 100000.0\]"):
        LCDPretrainer(**LCD_TINY, fs=float("inf")).fit(np.ones((16, 1, 64)))


def test_a_parameter_differing_from_the_saved_network_is_warned_about(lcd_folder, tmp_path):
    from sklearn_ecg import load_pretrained

    folder = _edited(lcd_folder, tmp_path, lambda c: c["params"].__setitem__("width", 0.5))
    with pytest.warns(UserWarning, match=r"width=0.5 \(network: 0.03125\)"):
        model = load_pretrained(folder, device="cpu")
    assert model.net_.module_ is not None


def test_a_classifier_whose_architecture_contradicts_its_network_is_refused(sample, tmp_path):
    from sklearn_ecg._persistence import PretrainedModelError

    X = sample.X[:32, :2, :128]
    folder = ECGClassifier(**CLF_TINY).fit(X, np.arange(32) % 2).save_pretrained(tmp_path / "clf")
    edited = _edited(folder, tmp_path, lambda c: c["fitted"].__setitem__("architecture_", "mets"))
    with pytest.raises(PretrainedModelError, match="architecture_='mets' but a network of architecture='lcd'"):
        ECGClassifier.from_pretrained(edited, device="cpu")


def test_a_saved_text_encoder_never_downloads_on_load(tmp_path):
    from sklearn_ecg.mets import _build_text_encoder as build_text_encoder

    spec = {"class": "SentenceTransformerEncoder",
            "params": {"model_name_or_path": "someone/any-model", "local_files_only": False}}
    with pytest.warns(UserWarning, match="loaded with local_files_only=True"):
        encoder = build_text_encoder(spec, tmp_path / "config.json")
    assert encoder.local_files_only is True


# -- item 3: one lead-name parser; a missing lead warned, an unknown name refused --------------


@pytest.fixture(scope="module")
def masked_mets(sample):
    from _text_encoders import tiny_mets

    X = sample.X[:32, :, :128].copy()
    return tiny_mets(device="cpu", fs=100, lead_masking=0.5, lead_names=list(sample.lead_names)).fit(
        X, reports=np.asarray(sample.report[:32], dtype=object))


def test_lead_names_with_the_word_lead_are_understood_everywhere(sample, masked_mets):
    from sklearn_ecg.preprocessing import SelectLeads

    names = [f"lead {n}" for n in sample.lead_names]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every lead is found: nothing zero-filled
        prep = masked_mets.input_pipeline(fs=100, lead_names=names)
    assert "leadlayout" not in [name for name, _ in prep.steps]
    X = sample.X[:4, :, :128]
    np.testing.assert_array_equal(prep.fit_transform(X), X)
    picked = SelectLeads(["lead V1"], lead_names=names).fit_transform(X)
    np.testing.assert_array_equal(picked[:, 0], X[:, 6])


def test_a_lead_the_records_lack_is_warned_about_by_name(masked_mets):
    with pytest.warns(UserWarning, match=r"lack lead\(s\) III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6"):
        masked_mets.input_pipeline(fs=100, lead_names=["I", "II"])


def test_an_unparseable_lead_name_is_refused(masked_mets):
    with pytest.raises(ValueError, match=r"'chan 3' are not names of ECG leads"):
        masked_mets.input_pipeline(fs=100, lead_names=["I", "II", "chan 3"])


# -- item 4: duplicate class names -------------------------------------------------------------


def test_duplicate_class_names_are_refused(masked_mets, sample):
    from sklearn_ecg import ZeroShotECGClassifier

    X = sample.X[:2, :, :128]
    with pytest.raises(ValueError, match="names class.*'a' more than once"):
        ZeroShotECGClassifier(masked_mets, class_names=["a", "a"],
                              class_descriptions={"a": "x"}).fit(X, np.zeros((2, 2), dtype=int))


@pytest.mark.parametrize("table, match", [
    ({"a": 5, "b": "x"}, r"\['a'\] is 5"),
    ({"a": None, "b": "x"}, r"\['a'\] is None"),
    ({"a": [], "b": "x"}, r"\['a'\] is \[\]"),
    ({"": "x", "b": "y"}, "has the class ''"),
])
def test_invalid_class_descriptions_are_refused_by_name(masked_mets, sample, table, match):
    from sklearn_ecg import ZeroShotECGClassifier

    X = sample.X[:2, :, :128]
    with pytest.raises(ValueError, match=match):
        ZeroShotECGClassifier(masked_mets, class_descriptions=table).fit(X, ["b", "b"])


def test_empty_class_descriptions_describe_every_class_by_its_label(masked_mets, sample):
    # The documented meaning of {} in the API (an empty file on the command
    # line is refused instead).
    from sklearn_ecg import ZeroShotECGClassifier

    X = sample.X[:4, :, :128]
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    names = ["atrial fibrillation", "sinus rhythm"]
    empty = ZeroShotECGClassifier(masked_mets, class_names=names, class_descriptions={}).fit(X, y)
    by_label = ZeroShotECGClassifier(masked_mets, class_names=names,
                                     class_descriptions={n: n for n in names}).fit(X, y)
    np.testing.assert_array_equal(empty.decision_function(X), by_label.decision_function(X))


# -- items 5, 6, 11, 12 and the corrupt header: the command line -------------------------------


@pytest.fixture(scope="module")
def records(sample, tmp_path_factory):
    wfdb = pytest.importorskip("wfdb")
    folder = tmp_path_factory.mktemp("records")
    for i in range(3):
        wfdb.wrsamp(f"r{i}", fs=100, units=["mV"] * 12, sig_name=list(sample.lead_names),
                    p_signal=np.ascontiguousarray(sample.X[i].T, dtype=np.float64),
                    fmt=["16"] * 12, write_dir=str(folder))
    return folder


def _cli(args, capsys):
    from sklearn_ecg.cli import main

    code = main([*args, "-q"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("descriptions", [
    {"a": ""}, {"a": []}, {"a": None}, {"a": 5}, {"": "x"}, {},
])
def test_cli_refuses_the_descriptions_the_api_refuses(records, tmp_path, capsys, descriptions):
    import json

    path = tmp_path / "d.json"
    path.write_text(json.dumps(descriptions))
    code, err = _cli(["zero-shot", "mets-ptbxl", str(records), "--descriptions", str(path),
                      "--out", str(tmp_path / "z.csv")], capsys)
    assert code == 1 and "error:" in err and str(path) in err
    assert not (tmp_path / "z.csv").exists()


@pytest.mark.parametrize("classes, match", [([""], "has the class ''"),
                                            (["a", "a"], "'a' appear more than once")])
def test_cli_refuses_empty_or_duplicate_classes(records, tmp_path, capsys, classes, match):
    code, err = _cli(["zero-shot", "mets-ptbxl", str(records), "--classes", *classes,
                      "--out", str(tmp_path / "z.csv")], capsys)
    assert code == 1 and match in err


def test_cli_refuses_empty_and_duplicate_keyed_description_files(records, tmp_path, capsys):
    empty = tmp_path / "d.csv"
    empty.write_text("")
    code, err = _cli(["zero-shot", "mets-ptbxl", str(records), "--descriptions", str(empty),
                      "--out", str(tmp_path / "z.csv")], capsys)
    assert code == 1 and "is empty" in err
    dupes = tmp_path / "d.json"
    dupes.write_text('{"a": "x", "a": "y"}')
    code, err = _cli(["zero-shot", "mets-ptbxl", str(records), "--descriptions", str(dupes),
                      "--out", str(tmp_path / "z.csv")], capsys)
    assert code == 1 and "'a' appear more than once" in err


def test_cli_param_conflicting_with_an_option_is_refused(records, tmp_path, capsys):
    code, err = _cli(["pretrain", "lcd", str(records), "--out", str(tmp_path / "m"),
                      "--max-epochs", "1", "--param", "max_epochs=2"], capsys)
    assert code == 1 and "--param max_epochs=2 conflicts with --max-epochs" in err
    code, err = _cli(["pretrain", "lcd", str(records), "--out", str(tmp_path / "m"),
                      "--param", "width=0.5", "--param", "width=0.25"], capsys)
    assert code == 1 and "more than once" in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("command", ["embed", "zero-shot"])
@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_cli_never_replaces_an_out_file_without_overwrite(records, tmp_path, capsys, command, suffix):
    out = tmp_path / f"result{suffix}"
    out.write_text("the user's file")
    model = "lcd-ptbxl" if command == "embed" else "mets-ptbxl"
    extra = ["--classes", "sinus rhythm", "atrial fibrillation"] if command == "zero-shot" else []
    code, err = _cli([command, model, str(records), "--out", str(out), *extra], capsys)
    assert code == 1 and "pass --overwrite" in err
    assert out.read_text() == "the user's file"
    if command == "embed":
        assert _cli([command, model, str(records), "--out", str(out), "--overwrite", *extra],
                    capsys)[0] == 0
        assert out.read_bytes() != b"the user's file"


def test_cli_zero_shot_writes_the_format_its_extension_names(records, tmp_path, capsys):
    pytest.importorskip("sentence_transformers")
    classes = ["sinus rhythm", "atrial fibrillation"]
    code, _ = _cli(["zero-shot", "mets-ptbxl", str(records), "--classes", *classes,
                    "--out", str(tmp_path / "z.npy"), "--device", "cpu"], capsys)
    assert code == 0
    scores = np.load(tmp_path / "z.npy")
    assert scores.shape == (3, 2)
    assert (tmp_path / "z.names.txt").read_text().split() == ["r0", "r1", "r2"]
    code, err = _cli(["zero-shot", "mets-ptbxl", str(records), "--classes", *classes,
                      "--out", str(tmp_path / "z.txt")], capsys)
    assert code == 1 and "use a .npy, .csv or .parquet file" in err


def test_cli_names_a_corrupt_header_and_skips_it_on_request(records, tmp_path, capsys):
    import shutil

    import pandas as pd

    folder = tmp_path / "records"
    shutil.copytree(records, folder)
    (folder / "bad.hea").write_text("garbage here\n")
    out = tmp_path / "e.csv"
    code, err = _cli(["embed", "lcd-ptbxl", str(folder), "--out", str(out)], capsys)
    assert code == 1 and "record 'bad'" in err and "corrupt" in err and "--on-error skip" in err
    assert "sampling rate" not in err
    code, err = _cli(["embed", "lcd-ptbxl", str(folder), "--out", str(out), "--on-error", "skip"],
                     capsys)
    assert code == 0 and "skipped record bad: corrupt" in err
    assert list(pd.read_csv(out)["record"]) == ["r0", "r1", "r2"]
    listing = pd.read_csv(tmp_path / "e.csv.skipped.csv")
    assert list(listing["record"]) == ["bad"] and "corrupt" in listing["reason"][0]


# -- item 7: a header declaring fewer samples than its .mat holds --------------------------------


def test_a_mat_longer_than_its_header_says_is_warned_about_by_record(tmp_path):
    import scipy.io

    from sklearn_ecg.datasets import load_wfdb

    val = np.random.default_rng(0).integers(-2000, 2000, size=(2, 5000), dtype=np.int16)
    scipy.io.savemat(tmp_path / "A0001.mat", {"val": val}, format="4")
    lines = ["A0001 2 500 2500"] + [f"A0001.mat 16+24 1000/mV 16 0 {v[0]} 0 0 {lead}"
                                    for v, lead in zip(val, ["I", "II"])]
    (tmp_path / "A0001.hea").write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="record 'A0001'.*declares 2500 samples.*holds 5000"):
        data = load_wfdb(tmp_path, verbose=0)
    assert data.X.shape == (1, 2, 2500)


# -- item 8: persistence refuses other dtypes, absurd weights and links out of the folder ------


def _with_weights(folder, tmp_path, edit):
    import shutil

    from safetensors.torch import load_file, save_file

    copy = tmp_path / "edited"
    shutil.copytree(folder, copy)
    state = load_file(copy / "model.safetensors")
    save_file(edit(state), copy / "model.safetensors")
    return copy


def test_weights_of_another_dtype_are_refused(lcd_folder, tmp_path):
    import torch

    from sklearn_ecg import load_pretrained
    from sklearn_ecg._persistence import PretrainedModelError

    half = _with_weights(lcd_folder, tmp_path / "a", lambda s: {
        k: v.half() if v.is_floating_point() else v for k, v in s.items()})
    with pytest.raises(PretrainedModelError, match="float16 but config.json says float32"):
        load_pretrained(half, device="cpu")
    counter = _with_weights(lcd_folder, tmp_path / "b", lambda s: {
        k: v if v.is_floating_point() else v.to(torch.int32) for k, v in s.items()})
    with pytest.raises(PretrainedModelError, match="dtype torch.int32, expected torch.int64"):
        load_pretrained(counter, device="cpu")


def test_absurd_weights_are_refused(lcd_folder, tmp_path):
    from sklearn_ecg import load_pretrained
    from sklearn_ecg._persistence import PretrainedModelError

    def huge(state):
        key = next(k for k in state if k.endswith("weight"))
        return {**state, key: state[key] * 0 + 1e30}

    with pytest.raises(PretrainedModelError, match="values up to 1e\\+30"):
        load_pretrained(_with_weights(lcd_folder, tmp_path, huge), device="cpu")


def test_a_weights_link_out_of_the_folder_is_not_followed(lcd_folder, tmp_path):
    import os
    import shutil

    from sklearn_ecg import load_pretrained
    from sklearn_ecg._persistence import PretrainedModelError

    folder = tmp_path / "model"
    shutil.copytree(lcd_folder, folder)
    outside = tmp_path / "elsewhere.safetensors"
    shutil.move(folder / "model.safetensors", outside)
    os.symlink(outside, folder / "model.safetensors")
    with pytest.raises(PretrainedModelError, match="is a link to .*outside the model folder"):
        load_pretrained(folder, device="cpu")
    # A link within the folder is the folder's own file.
    (folder / "model.safetensors").unlink()
    (folder / "blobs").mkdir()
    shutil.move(outside, folder / "blobs" / "w")
    os.symlink(folder / "blobs" / "w", folder / "model.safetensors")
    assert load_pretrained(folder, device="cpu").n_leads_ == 12


# -- item 9 and the complex array: non-numeric dtypes ----------------------------------------------


@pytest.mark.parametrize("cast, what, error", [
    (lambda X: X.astype(str), "strings", ValueError),
    (lambda X: X > 0, "booleans", TypeError),
    (lambda X: X.astype(complex), "complex numbers", ValueError),
    (lambda X: np.where(X > 0, "x", X.astype(object)).astype(object), "str values", TypeError),
])
def test_non_numeric_records_are_refused_without_printing_them(sample, cast, what, error):
    X = sample.X[:16, :2, :128]
    lcd = LCDPretrainer(**LCD_TINY).fit(X)
    with pytest.raises(error, match=f"X holds {what}") as info:
        lcd.transform(cast(X))
    assert len(str(info.value)) < 400


# -- the rate bounded when a pipeline is built -----------------------------------------------------


@pytest.mark.parametrize("fs", [1e-300, 1e308, float("inf"), 1e9, 0, -5, True])
def test_input_pipeline_bounds_the_rate(lcd_folder, fs):
    from sklearn_ecg import load_pretrained

    model = load_pretrained(lcd_folder, device="cpu")
    with pytest.raises(ValueError, match="between 1 and 100000"):
        model.input_pipeline(fs=fs)


# -- item 10 and the sheet's messages ----------------------------------------------------------------


def test_sheet_warns_about_microvolts_and_refuses_duplicate_leads(sample):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from sklearn_ecg.plotting import plot_ecg_sheet

    record = sample.X[0]
    with pytest.warns(UserWarning, match="probably in microvolts"):
        fig, _ = plot_ecg_sheet(record * 1000, 100, lead_names=sample.lead_names)
    plt.close(fig)
    with pytest.raises(ValueError, match="names lead.*II more than once"):
        plot_ecg_sheet(record, 100, lead_names=["II"] * 12)
    with pytest.raises(ValueError, match="paper 10 mm wide leaves no room"):
        plot_ecg_sheet(record, 100, paper=(10, 10))
    with pytest.raises(ValueError, match="too short to plot"):
        plot_ecg_sheet(record[:, :5], 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig, _ = plot_ecg_sheet(record, 100, lead_names=sample.lead_names)
    plt.close(fig)


# -- a repeated ecg_id within one PTB-XL table -----------------------------------------------------

PTBXL500 = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data" / "ptbxl500"


@pytest.mark.skipif(not PTBXL500.is_dir(), reason="the shared PTB-XL records are not available")
def test_a_repeated_ecg_id_within_one_table_is_named_with_its_lines(tmp_path):
    import shutil

    import pandas as pd

    from sklearn_ecg.datasets import load_ptbxl

    db = pd.read_csv(PTBXL500 / "ptbxl_database.csv").head(3)
    db = pd.concat([db, db.head(1)], ignore_index=True)
    db.to_csv(tmp_path / "ptbxl_database.csv", index=False)
    shutil.copy(PTBXL500 / "scp_statements.csv", tmp_path)
    first = int(db["ecg_id"][0])
    with pytest.raises(ValueError, match=rf"ptbxl_database.csv: ecg_id\(s\) \[{first}\] appear more "
                                         r"than once \(lines \[2, 5\]\)"):
        load_ptbxl(tmp_path, verbose=0)


def test_cli_info_refuses_a_model_with_an_invalid_rate(lcd_folder, tmp_path, capsys):
    from sklearn_ecg.cli import main

    for fs in (0, -100):
        folder = _edited(lcd_folder, tmp_path / str(fs), _set_input("fs", fs))
        assert main(["info", str(folder)]) == 1
        err = capsys.readouterr().err
        assert "sampling rate in Hz between 1 and 100000" in err and "Hz:" not in err
