"""The survey and policy tables shipped in kaigai_lib/data/survey_data: numbers, decoding, loaders, figures.

HAND_CHECKED below is the one place where numbers are typed by hand, on purpose: an independent copy,
read off the seed texts, that every shipped number is compared with.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.figure import Figure

from kaigai_lib.data.survey_data import decode
from kaigai_lib.teaching import survey

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

# --------------------------------------------------------------------------
# The hand-checked copy (typed from the seed texts, independently of decode.py)
# --------------------------------------------------------------------------

# Figure II-2-4-6: (group, fiscal year, response) → share, %; None = not printed in the source.
HAND_EXPORT_PLANS = {
    ("exporters", 2021, "expand"): 84.7,
    ("exporters", 2021, "maintain"): 13.7,
    ("exporters", 2021, "reduce_withdraw_or_no_answer"): None,
    ("exporters", 2022, "expand"): 72.5,
    ("exporters", 2022, "maintain"): 23.1,
    ("exporters", 2022, "reduce_withdraw_or_no_answer"): None,
    ("non_exporters", 2021, "start"): 33.5,
    ("non_exporters", 2021, "no_plans"): 16.3,
    ("non_exporters", 2021, "no_answer_or_not_applicable"): 50.2,
    ("non_exporters", 2022, "start"): 20.0,
    ("non_exporters", 2022, "no_plans"): 37.5,
    ("non_exporters", 2022, "no_answer_or_not_applicable"): 42.5,
}
# The values whose category rests on a layout tie-break (see the data dictionary).
HAND_UNCERTAIN = {("exporters", 2021, "maintain"), ("exporters", 2022, "maintain"),
                  ("non_exporters", 2022, "no_plans"), ("non_exporters", 2022, "no_answer_or_not_applicable")}

# Figure II-2-4-7, items ①–⑦ × (China, US, EU, Vietnam, Thailand), %.
HAND_CHALLENGES = pd.DataFrame(
    [[62.1, 64.3, 63.7, 65.3, 60.6],
     [66.5, 56.4, 58.4, 60.3, 58.7],
     [37.9, 46.6, 41.1, 26.4, 34.6],
     [39.1, 33.9, 37.4, 36.4, 28.8],
     [24.2, 26.4, 17.4, 19.0, 21.2],
     [18.1, 15.2, 13.2, 24.0, 24.0],
     [5.9, 5.5, 6.8, 5.8, 2.9]],
    index=range(1, 8), columns=["china", "us", "eu", "vietnam", "thailand"])

# Figure II-2-4-9, items ①–⑧ × (US, Vietnam, China, EU, Thailand) — the printed column order — %.
HAND_REASONS = pd.DataFrame(
    [[91.5, 89.3, 90.5, 86.7, 86.5],
     [44.8, 39.3, 42.8, 44.3, 50.5],
     [32.1, 33.4, 40.3, 25.9, 45.0],
     [31.6, 35.3, 25.2, 29.4, 31.5],
     [26.9, 22.4, 24.6, 25.9, 31.1],
     [29.1, 22.7, 22.2, 25.1, 23.4],
     [11.8, 38.0, 17.2, 5.5, 23.9],
     [15.4, 23.6, 22.5, 11.8, 25.7]],
    index=range(1, 9), columns=["us", "vietnam", "china", "eu", "thailand"])

HAND_CHALLENGE_LABELS = {
    1: "現地における販売・流通網の発掘・拡充", 2: "市場動向や関連規制などに関する情報収集",
    3: "輸出向けの新製品開発、既存製品の現地向け仕様変更", 4: "販売に関わる法規制への対応",
    5: "需要に見合う供給量の確保", 6: "販売単価の削減（FTA の活用を含む）", 7: None,
}
HAND_REASON_LABELS = {
    1: "市場規模・成長性", 2: "顧客（納入先）企業の集積", 3: "すでに自社の拠点がある", 4: "安定した政治・社会情勢",
    5: "自社の海外拠点戦略に基づく（拠点統合など）", 6: "言語・コミュニケーション上の障害の少なさ",
    7: "人件費の安さ、豊富な労働力", 8: "関連産業の集積（現地調達が容易）", 9: "インフラ（電力、運輸、通信等）の充実",
}

# The talk's Thailand–Vietnam table: indicator → (Thailand, Vietnam, printed unit).
HAND_TV = {
    "population": (6678, 8877, "万人"),
    "real_gdp_growth": (6.5, 5.2, "%"),
    "gdp_per_capita": (5480, 1755, "米ドル"),
    "unemployment_rate": (0.7, 1.8, "%"),
    "manufacturing_worker_wage": (366, 162, "米ドル"),
    "japanese_firms": (3924, 1542, "社"),
    "japanese_residents": (55634, 11194, "人"),
    "local_procurement_rate": (52.7, 32.2, "%"),
}
HAND_TV_DATES = {("japanese_firms", "thailand"): "2014年1月時点", ("japanese_firms", "vietnam"): "2012年1月末時点",
                 ("population", "vietnam"): "2012年データ", ("japanese_residents", "thailand"): "2012年10月1日時点",
                 ("local_procurement_rate", "vietnam"): "2013年度調査"}

# Other numbers in the text tables.
HAND_PROGRAMME_YEARS = {"ニーズ調査": 2012, "案件化調査": 2012, "中小企業連携促進基礎調査": 2012,
                        "普及・実証事業": 2012, "外務省ノンプロジェクト型無償資金協力": 2012,
                        "地域（経済）活性化特別枠": 2012,
                        "PPPインフラ事業協力準備調査": 2009, "BOPビジネス連携促進協力準備調査": 2010,
                        "開発途上国の社会・経済開発のための民間技術普及促進事業": 2013, "海外投融資": 2010,
                        "民間連携ボランティア": 2012, "中小企業海外展開支援大綱": 2011}
HAND_COUNCIL_GROUP_SIZES = {"関係省庁": 4, "政府系機関": 4, "中小企業団体": 3, "金融機関": 8, "その他": 2}
HAND_ODA_TARGETS = {"中小企業のみ対象": 5, "地方自治体を対象": 1, "民間企業全般（中小企業も対象）": 6}


# --------------------------------------------------------------------------
# Every shipped number against the hand-checked copy
# --------------------------------------------------------------------------

def test_export_plans_match_the_hand_checked_copy():
    plans = survey.export_plans()
    assert len(plans) == len(HAND_EXPORT_PLANS)
    for row in plans.itertuples():
        expected = HAND_EXPORT_PLANS[(row.group, row.fiscal_year, row.response)]
        if expected is None:
            assert math.isnan(row.value) and not row.printed and pd.isna(row.raw)
        else:
            assert row.value == pytest.approx(expected, abs=1e-9) and row.printed
        key = (row.group, row.fiscal_year, row.response)
        assert row.certain == (key not in HAND_UNCERTAIN and expected is not None), key


@pytest.mark.parametrize(("loader", "hand"), [(survey.export_challenges, HAND_CHALLENGES),
                                              (survey.expansion_reasons, HAND_REASONS)])
def test_destination_tables_match_the_hand_checked_copy(loader, hand):
    wide = loader(wide=True)
    assert list(wide.columns) == list(hand.columns)  # the printed column order
    pd.testing.assert_frame_equal(wide, hand, check_names=False, check_dtype=False, check_index_type=False)
    long = loader()
    assert (long["raw"].astype(float) == long["value"]).all()
    assert long.groupby("destination")["column"].nunique().eq(1).all()
    assert dict(zip(long["destination"], long["column"], strict=True)) == {d: i + 1 for i, d in enumerate(hand)}


def test_item_labels_match_the_hand_checked_copy():
    for table, hand in (("export_challenges", HAND_CHALLENGE_LABELS), ("expansion_reasons", HAND_REASON_LABELS)):
        items = survey.survey_items(table).set_index("item")
        assert list(items.index) == list(hand)
        for item, label in hand.items():
            shipped = items.loc[item, "label_ja"]
            assert (pd.isna(shipped) if label is None else shipped == label), (table, item)
            assert items.loc[item, "symbol"] == "①②③④⑤⑥⑦⑧⑨"[item - 1]
            assert isinstance(items.loc[item, "label_en"], str) or label is None
    items = survey.survey_items("expansion_reasons").set_index("item")
    assert not items.loc[9, "in_top5_table"] and items.loc[1:8, "in_top5_table"].all()
    assert survey.survey_items("export_challenges").set_index("item").loc[7, "label_source"] == "not in the source text"


def test_thailand_vietnam_indicators_match_the_hand_checked_copy():
    table = survey.thailand_vietnam_indicators()
    assert list(dict.fromkeys(table["indicator"])) == list(HAND_TV)
    for row in table.itertuples():
        thailand, vietnam, unit = HAND_TV[row.indicator]
        assert row.value == pytest.approx(thailand if row.country == "thailand" else vietnam, abs=1e-9)
        assert row.unit_ja == unit
    dates = table.set_index(["indicator", "country"])["reference_ja"]
    for key, date in HAND_TV_DATES.items():
        assert dates[key] == date
    wide = survey.thailand_vietnam_indicators(wide=True)
    assert wide.loc["japanese_residents", "thailand"].item() == 55634


def test_programme_and_organisation_numbers_match_the_hand_checked_copy():
    programmes = survey.support_programmes()
    years = programmes.dropna(subset=["since_year"]).set_index("programme_ja")["since_year"].to_dict()
    assert years == HAND_PROGRAMME_YEARS
    oda = survey.support_programmes(oda=True)
    assert oda["target_ja"].value_counts().to_dict() == HAND_ODA_TARGETS
    fs = programmes.loc[programmes["programme_ja"] == "事業化可能性調査", "terms_ja"].tolist()
    assert fs == ["補助率2/3\n上限120万円", "上限50万円"]
    council = survey.support_organisations("national_council")
    assert council["group_ja"].value_counts().to_dict() == HAND_COUNCIL_GROUP_SIZES
    assert len(survey.support_organisations("local")) == 13


# --------------------------------------------------------------------------
# Shares add up where they should (single answer) and not where they need not (multiple answers)
# --------------------------------------------------------------------------

def test_single_answer_shares_add_up_to_100():
    plans = survey.export_plans()
    assert (plans["answer_type"] == "single").all()
    totals = plans.groupby(["group", "fiscal_year"])["value"].sum()
    # non-exporters: all three answers printed → 100 up to rounding
    assert totals.loc["non_exporters"].sub(100).abs().max() <= 0.15
    # exporters: the residual is not printed; what is left is positive and thinner than any printed segment
    residual = 100 - totals.loc["exporters"]
    assert (residual > 0).all() and residual.max() < plans.query("group == 'exporters'")["value"].min()
    filled = survey.export_plans(fill_unprinted=True).groupby(["group", "fiscal_year"])["value"].sum()
    assert filled.sub(100).abs().max() <= 0.15
    assert survey.export_plans(fill_unprinted=True)["value"].notna().all()


@pytest.mark.parametrize("loader", [survey.export_challenges, survey.expansion_reasons])
def test_multiple_answer_shares_exceed_100_and_stay_within_0_100(loader):
    long = loader()
    assert (long["answer_type"] == "multiple").all()
    assert long["value"].between(0, 100).all()
    assert (long.groupby("destination")["value"].sum() > 100).all()  # several answers per firm


# --------------------------------------------------------------------------
# What the white paper's prose says
# --------------------------------------------------------------------------

def test_prose_on_export_plans():
    changes = survey.plan_changes().set_index(["group", "response"])["change"]
    # 「いずれの企業においても前年度調査から「新たに取組みたい」との回答が減少している」
    assert changes[("exporters", "expand")] < 0
    assert changes[("non_exporters", "start")] < 0
    # 「輸出を行っていない企業については「今後とも行う予定はない」との回答が増加している」
    assert changes[("non_exporters", "no_plans")] > 0
    # and whichever way the uncertain FY2022 split goes, 今後とも行う予定はない rose
    plans = survey.export_plans().set_index(["group", "fiscal_year", "response"])["value"]
    fy2022_pair = [plans[("non_exporters", 2022, r)] for r in ("no_plans", "no_answer_or_not_applicable")]
    assert min(fy2022_pair) > plans[("non_exporters", 2021, "no_plans")]


def test_prose_on_the_destination_tables():
    checks = decode.run_prose_checks({"export_challenges": survey.export_challenges(),
                                      "expansion_reasons": survey.expansion_reasons()})
    assert checks["passed"].all(), checks.loc[~checks["passed"], ["check_id", "claim"]]
    assert len(checks) == len(decode.PROSE_CHECKS) == 9


def test_prose_pins_the_columns_of_figure_ii_2_4_7():
    assert decode.consistent_column_orders(decode.RAW_CHALLENGES, "export_challenges") == 1
    assert decode.consistent_column_orders(decode.RAW_REASONS, "expansion_reasons") == 6


# --------------------------------------------------------------------------
# The decoding: rules, the raw strings, and agreement with the shipped files
# --------------------------------------------------------------------------

@pytest.mark.parametrize(("chunk", "numbers"), [("84.784.7", ["84.7"]), ("23.123.172.572.5", ["23.1", "72.5"]),
                                                ("42.542.537.537.52020", ["42.5", "37.5", "20"]),
                                                ("16.316.333.533.5", ["16.3", "33.5"])])
def test_split_doubled(chunk, numbers):
    assert decode.split_doubled(chunk) == numbers


@pytest.mark.parametrize("chunk", ["84.7", "1111", "12.312.4"])
def test_split_doubled_refuses_what_is_not_one_reading(chunk):
    with pytest.raises(decode.DecodingError):
        decode.split_doubled(chunk)


def test_the_decoding_narrows_to_one_reading_per_panel():
    stages = decode.export_plans_table()[1].set_index(["group", "rules"])["assignments_left"]
    assert stages[("exporters", "S + L1 + prose + E (pinning rules)")] == 4
    assert stages[("non_exporters", "S + L1 + prose + E (pinning rules)")] == 2
    assert stages[("exporters", "… + tie-breaks L2, L3")] == 1
    assert stages[("non_exporters", "… + tie-breaks L2, L3")] == 1


def test_shipped_csvs_are_what_the_decoder_builds():
    built = decode.build_tables()
    assert set(built) == set(decode.CSV_FILES) == set(survey.FILES)
    for name, table in built.items():
        shipped = pd.read_csv(survey.data_dir() / decode.CSV_FILES[name], keep_default_na=False, na_values=[""])
        expected = pd.read_csv(io.StringIO(table.to_csv(index=False)), keep_default_na=False, na_values=[""])
        pd.testing.assert_frame_equal(shipped, expected, obj=name)


def _normalise(text: str) -> str:
    # line breaks, spaces, the replacement character and private-use bullet glyphs of the PDF extraction
    return re.sub(r"[\s\ufffd\ue000-\uf8ff]", "", text)


@pytest.fixture(scope="module")
def seeds() -> dict[str, str]:
    files = {name: SEEDS / name for name in (decode.WHITE_PAPER_SEED, decode.TALK_SEED)}
    if not all(path.exists() for path in files.values()):
        pytest.skip(f"source texts not found in {SEEDS}: the raw strings cannot be re-read from them")
    return {name: path.read_text(encoding="utf-8") for name, path in files.items()}


def test_raw_strings_are_verbatim_lines_of_the_seeds(seeds):
    white_paper = {line.strip() for line in seeds[decode.WHITE_PAPER_SEED].splitlines()}
    talk = {line.strip() for line in seeds[decode.TALK_SEED].splitlines()}
    for panel in decode.EXPORT_PANELS:
        assert panel.legend_raw in white_paper
        assert all(line in white_paper for line in panel.lines_raw)
    for raw in (decode.RAW_CHALLENGES, decode.RAW_REASONS):
        assert raw["header"] in white_paper
        assert all(row in white_paper for row in raw["rows"])
    assert decode.RAW_TV_INDICATORS["header"] in talk
    assert all(row in talk for row in decode.RAW_TV_INDICATORS["rows"] + decode.RAW_TV_INDICATORS["notes"])


def test_re_decoding_the_seed_reproduces_the_shipped_numbers(seeds):
    """Find the figure lines in the seed by their shape (not by the stored strings) and decode them again."""
    lines = [line.strip() for line in seeds[decode.WHITE_PAPER_SEED].splitlines()]
    doubled = [line for line in lines if re.fullmatch(r"(2021年度 )?\d[\d.]*(?: \d[\d.]*)*", line)]
    assert doubled == [line for panel in decode.EXPORT_PANELS for line in panel.lines_raw]
    values = sorted(float(v) for line in doubled for token in line.removeprefix("2021年度").split()
                    for v in decode.split_doubled(token))
    assert values == sorted(v for v in HAND_EXPORT_PLANS.values() if v is not None)

    def table_after(header: str) -> pd.DataFrame:
        start = lines.index(header)
        rows = [line for line in lines[start + 1:start + 12] if re.match(r"[①-⑨] ", line)]
        return pd.DataFrame([[float(v) for v in row.split()[1:]] for row in rows],
                            index=range(1, len(rows) + 1), columns=header.split()[1:])

    challenges = table_after("（%） 中国 米国 EU ベトナム タイ")
    assert challenges.to_numpy().tolist() == HAND_CHALLENGES.to_numpy().tolist()
    reasons = table_after("（%） 米国 ベトナム 中国 EU タイ")
    assert reasons.to_numpy().tolist() == HAND_REASONS.to_numpy().tolist()


def test_japanese_text_cells_are_verbatim_in_the_sources(seeds):
    corpus = _normalise("".join(seeds.values()))
    for name, table in decode.build_tables().items():
        if name == "sources":
            continue
        for column in [c for c in table.columns if c.endswith("_ja")]:
            for cell in table[column].dropna().unique():
                for piece in str(cell).split("\n"):
                    for part in piece.split("…"):
                        assert _normalise(part) in corpus, (name, column, part)
    for check in decode.PROSE_CHECKS:
        for part in check.quote.split("…"):
            assert _normalise(part) in corpus, check.check_id
    for rule in decode.EXPORT_RULES:
        for quote in re.findall(r"「(.+?)」: ", rule.text):
            assert _normalise(quote) in corpus, rule.rule_id


# --------------------------------------------------------------------------
# Loaders, sources, data dictionary
# --------------------------------------------------------------------------

LOADERS = {
    "export_plans": survey.export_plans, "export_challenges": survey.export_challenges,
    "expansion_reasons": survey.expansion_reasons, "items": survey.survey_items,
    "thailand_vietnam_indicators": survey.thailand_vietnam_indicators,
    "investment_environment": survey.investment_environment,
    "sme_support_organisations": survey.support_organisations, "sme_support_programmes": survey.support_programmes,
    "wp_viewpoints": survey.policy_viewpoints, "wp_policy_tools": survey.policy_tools, "sources": survey.sources,
}


@pytest.mark.parametrize("name", list(LOADERS))
def test_loaders_return_the_documented_columns(name):
    table = LOADERS[name]()
    assert list(table.columns) == survey.COLUMNS[name]
    assert not table.empty
    if "source_id" in table.columns:
        assert set(table["source_id"]) <= set(survey.sources()["source_id"])


def test_loaders_return_fresh_copies():
    first = survey.export_plans()
    first.loc[0, "value"] = -1
    assert survey.export_plans().loc[0, "value"] == 84.7


def test_data_dictionary_documents_every_file_and_column():
    readme = (survey.data_dir() / "README.md").read_text(encoding="utf-8")
    for name, file in survey.FILES.items():
        assert f"`{file}`" in readme, file
        for column in survey.COLUMNS[name]:
            assert f"`{column}`" in readme, (file, column)
    for rule in ("D1", "D2", "D3", "D4", "D5", "S", "L1", "L2", "L3", "P1", "P2", "E"):
        assert f"**{rule}" in readme or f"| {rule} |" in readme, rule
    for source_id in survey.sources()["source_id"]:
        assert f"`{source_id}`" in readme, source_id


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="table="):
        survey.destination_contrast("vietnam", table="exports")
    with pytest.raises(ValueError, match="destination="):
        survey.destination_contrast("japan")
    with pytest.raises(ValueError, match="network="):
        survey.support_organisations("regional")


def test_destination_contrast():
    vietnam = survey.destination_contrast("vietnam", "expansion_reasons").set_index("item")
    assert vietnam.loc[7, "value"] == 38.0 and vietnam.loc[7, "rank"] == 1 and vietnam.loc[7, "highest"]
    others = HAND_REASONS.drop(columns="vietnam").loc[7]
    assert vietnam.loc[7, "others_mean"] == pytest.approx(others.mean(), abs=0.005)
    assert vietnam.loc[7, "difference"] == pytest.approx(38.0 - others.mean(), abs=0.01)
    # a tie for the highest share counts for both destinations (⑥ of the challenges: 24.0 and 24.0)
    assert survey.destination_contrast("thailand").set_index("item").loc[6, "highest"]


# --------------------------------------------------------------------------
# Figures and the widget
# --------------------------------------------------------------------------

FIGURES = {
    "export_plans": survey.plot_export_plans,
    "export_challenges": survey.plot_export_challenges,
    "expansion_reasons": survey.plot_expansion_reasons,
    "profile": lambda: survey.plot_destination_profile("eu", "expansion_reasons"),
    "thailand_vietnam": survey.plot_thailand_vietnam,
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_figures_render_every_glyph(name):
    fig = FIGURES[name]()
    assert isinstance(fig, Figure)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts + ax.get_yticklabels() + ax.get_xticklabels()]
    assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t) for t in texts)  # Japanese labels are there
    survey.check_glyphs(fig)  # raises on a missing glyph
    assert fig not in [plt.figure(n) for n in plt.get_fignums()]  # not left open in pyplot


def test_export_plans_figure_draws_every_value():
    fig = survey.plot_export_plans()
    texts = {t.get_text().rstrip("*") for ax in fig.axes for t in ax.texts}
    printed = survey.export_plans().dropna(subset=["value"])["value"]
    assert {f"{v:.1f}" for v in printed} <= texts
    starred = {t.get_text() for ax in fig.axes for t in ax.texts if t.get_text().endswith("*")}
    assert starred == {"13.7*", "23.1*", "37.5*", "42.5*"}


def test_missing_glyphs_raise():
    from kaigai_lib.estimators.plots import new_figure

    fig, axes = new_figure(figsize=(2, 2))
    axes[0, 0].set_title("\U0001F9EA")  # a character the Japanese font does not have
    with pytest.raises(survey.MissingGlyphError):
        survey.check_glyphs(fig)


def test_destination_explorer_updates():
    explorer = survey.destination_explorer("vietnam")
    assert isinstance(explorer, survey.DestinationExplorer)
    assert "ベトナム" in explorer.view_html and "<img" in explorer.view_html
    assert explorer.contrast.set_index("item").loc[1, "highest"]
    assert len(explorer.views) == 10  # both tables × five destinations, precomputed for the static page
    explorer.set(destination="us")
    assert "米国" in explorer.view_html
    explorer.set(table="expansion_reasons")
    assert len(explorer.contrast) == 8
    with pytest.raises(ValueError):
        survey.destination_explorer("japan")
