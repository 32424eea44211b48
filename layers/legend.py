"""Legends: a box with a title and one colour swatch per ``(label, colour)`` item.

The items usually come from the legend helpers of :mod:`beatgrid.layers.style`
(``severity_legend``, ``quality_legend``, ``household_legend``...), so a colour is
explained in the same words on every map. Labels are HTML-escaped and colours
checked (:func:`beatgrid.layers.style.check_color`); several legends on one map
stack in their corner.

Examples
--------
>>> from beatgrid.layers import style
>>> from beatgrid.layers.legend import add_legend
>>> from beatgrid.layers.offline_map import base_map
>>> m = base_map((121.50, 29.85, 121.60, 29.92))
>>> add_legend(m, "Severity", style.severity_legend()).items[-1]
('critical', '#d7191c')
"""

from __future__ import annotations

import html as _html
from collections.abc import Sequence

import folium
from branca.element import MacroElement
from folium.template import Template

from beatgrid.gis.errors import InputError

from beatgrid.layers import style

__all__ = ["LEGEND_POSITIONS", "Legend", "add_legend"]

#: Corners a legend can be put in (Leaflet control positions).
LEGEND_POSITIONS = ("topleft", "topright", "bottomleft", "bottomright")


class Legend(MacroElement):
    """A legend box (title and colour swatches) as a Leaflet control.

    Title and labels are HTML-escaped; colours are written as given (check them
    first, as :func:`add_legend` does).

    Examples
    --------
    >>> Legend("Risk <x>", [("high", "#fd8d3c")], position="topleft").title
    'Risk &lt;x&gt;'
    """

    _template = Template("""
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="beatgrid-legend leaflet-control">
          {%- if this.title %}<div class="beatgrid-legend-title">{{ this.title }}</div>{% endif %}
          {%- for label, color in this.items %}
          <div class="beatgrid-legend-item"><span class="beatgrid-swatch"
            style="background:{{ color }}"></span><span>{{ label }}</span></div>
          {%- endfor %}
        </div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = document.getElementById({{ this.get_name()|tojson }});
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, title: str | None, items: list[tuple[str, str]], *,
                 position: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = _html.escape(title) if title else ""
        self.items = [(_html.escape(label), color) for label, color in items]
        self.position = position


def add_legend(m: folium.Map, title: str | None, items: Sequence[tuple[str, str]], *,
               position: str = "bottomright") -> Legend:
    """Add a legend box: a title and one colour swatch per ``(label, colour)`` item.

    Parameters
    ----------
    m
        The map.
    title
        Legend title (e.g. ``"Households per grid"``); ``None`` for none.
    items
        ``[(label, css_colour), ...]``, e.g. from :func:`style.severity_legend`.
    position
        ``"topleft"``, ``"topright"``, ``"bottomleft"`` or ``"bottomright"``.

    Returns
    -------
    Legend
        The legend element, already on the map (several legends stack).

    Raises
    ------
    InputError
        When the position is unknown, an item is not a pair or a colour is not a
        CSS colour.

    Examples
    --------
    >>> from beatgrid.layers.offline_map import base_map
    >>> m = base_map((121.50, 29.85, 121.60, 29.92))
    >>> legend = add_legend(m, "Severity", [("ok", "#1a9641"), ("critical", "#d7191c")])
    """
    if position not in LEGEND_POSITIONS:
        raise InputError(f"legend position {position!r} is unknown",
                         fix="use one of: " + ", ".join(LEGEND_POSITIONS))
    checked = []
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise InputError(f"legend item {item!r} is not (label, colour)",
                             fix="pass a list of (label, colour) pairs")
        label, colour = item
        checked.append((str(label), style.check_color(colour, what=f"legend colour of {label!r}")))
    legend = Legend(title, checked, position=position)
    m.add_child(legend)
    return legend
