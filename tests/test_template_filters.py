"""The ``machine_time`` filter every template has (``config.template_filters``)."""

from datetime import UTC, date, datetime

from django.template import Context, Template
from django.utils import timezone


def test_machine_time_is_iso_8601_to_the_second_in_the_current_time_zone(settings):
    settings.TIME_ZONE = "Europe/London"
    moment = datetime(2026, 7, 1, 8, 39, 25, 867502, tzinfo=UTC)
    with timezone.override("Europe/London"):
        rendered = Template(
            "{{ moment|machine_time }}|{{ day|machine_time }}|{{ none|machine_time }}"
        )
        text = rendered.render(Context({"moment": moment, "day": date(2026, 7, 1), "none": None}))
    assert text == "2026-07-01T09:39:25+01:00|2026-07-01|"
