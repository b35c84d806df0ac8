"""Page components without a browser (solara.render), and the page's model."""

from __future__ import annotations

import re

import ipyvuetify as v
import ipywidgets
import pytest
import solara

from salesim import ConfigError, ModelConfig
from salesim.viz.components import KPICards, MonthlySeries, OrganisationView, kpi_html
from salesim.viz.model import VizModel, page_params

SMALL = ModelConfig.model_validate(
    {"horizon_days": 63, "population": {"customers": 200}, "staff": {"sales_staff": 9}}
)


def test_page_defaults_come_from_the_config():
    params = page_params(SMALL)
    assert params["config"] is SMALL
    assert params["customers"]["value"] == "200" and params["sales_staff"]["value"] == "9"
    assert params["design"]["value"] == SMALL.design
    assert params["pm_hours_per_day"]["value"] == SMALL.staff.pm_hours_per_day
    assert params["compare_with"]["values"][0] == "none"


def test_side_by_side_runs_two_designs_on_common_random_numbers():
    m = VizModel(config=SMALL, design="product", compare_with="customer_manager", seed="4")
    for _ in range(21):
        m.step()
    assert m.left.time == m.right.time == m.time == 21
    assert (m.left.customers.volume == m.right.customers.volume).all()
    assert m.left.design.name == "product" and m.right.design.name == "customer_manager"
    html = kpi_html(m)
    assert html.count('class="gap"') == 7 and 'data-day="21"' in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sales_staff", "-3", "Sales staff"),
        ("customers", "abc", "expected a number"),
        ("seed", "1.5", "whole"),
    ],
)
def test_bad_field_keeps_the_last_good_model(field, value, message):
    good = VizModel(config=SMALL, design="customer_manager")
    for _ in range(5):
        good.step()
    bad = VizModel(config=SMALL, design="customer_manager", **{field: value})
    assert message in bad.error
    assert bad.left is good.left and bad.time == 5
    bad.step()
    assert bad.left.time == 6


def test_first_model_with_bad_input_raises():
    VizModel._last_good = None
    with pytest.raises(ConfigError, match="Customers"):
        VizModel(config=SMALL, customers="-1")


def test_components_render():
    m = VizModel(config=SMALL, design="three_in_one", compare_with="product")
    for _ in range(22):
        m.step()
    _, rc = solara.render(KPICards(m), handle_error=False)
    html = rc.find(solara.widgets.HTML).widget.unsafe_innerHTML
    assert html.count('class="salesim-kpi"') == 7 and 'data-day="22"' in html
    assert "three_in_one" in html and "product" in html
    _, rc = solara.render(MonthlySeries(m), handle_error=False)
    image = rc.find(ipywidgets.Image).widget
    assert bytes(image.value).startswith(b"\x89PNG") and len(image.value) > 10_000
    _, rc = solara.render(OrganisationView(m), handle_error=False)
    svgs = [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets]
    assert len(svgs) == 2 and all(s.startswith('<svg class="salesim-org"') for s in svgs)
    # Aggregates: one circle per region x line, one dot per member of staff.
    cells = len(m.config.population.lines) * m.config.population.regions
    assert svgs[0].count('class="cell"') == cells
    staff = (
        len(m.left.sales_staff)
        + len(m.left.product_managers)
        + len(m.left.regional_managers)
        + len(m.left.outlets)
    )
    assert svgs[0].count('class="staff"') == staff
    queued = sum(int(q) for q in re.findall(r'data-queue="(\d+)"', svgs[0]))
    assert queued == int(m.left.queue_lengths().sum())


def test_error_message_is_shown_on_the_page():
    good = VizModel(config=SMALL)
    bad = VizModel(config=SMALL, sales_staff="-2")
    assert bad.left is good.left
    _, rc = solara.render(KPICards(bad), handle_error=False)
    alert = rc.find(v.Alert, class_="salesim-error").widget
    assert "Sales staff" in str(alert.children) and "last valid" in str(alert.children)
