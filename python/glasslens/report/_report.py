"""Report directories: ``summary.json`` + PNG figures + ``index.html``.

A :class:`Report` collects sections; each section has a title, free text, figures and a
JSON-serialisable ``data`` dict. After every ``add_section`` the report rewrites
``summary.json`` and ``index.html``, so an interrupted run still leaves a readable report.

Layout of a report directory::

    index.html          header, findings panel, sticky contents, sections (figures enlarge on
                        click, tables sort on a header click; inline CSS/JS, works offline)
    summary.json        {"title", "created", "glasslens", "meta", "findings", "sections": [...]}
    figures/<section key>-<n>.png

``summary.json["sections"]`` is a list of ``{"key", "title", "text", "figures", "data",
"seconds"}``; figure paths are relative to the report directory. Numpy arrays and scalars in
``data`` are converted to lists and numbers; NaN and infinities become ``null``.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union


from .._lib._io import to_jsonable, write_json
from .._lib._sections import slug

__all__ = ["Report", "to_jsonable"]

FigureLike = Any  # a matplotlib Figure, or a path to an existing image


class Report:
    """A report directory under construction.

    Parameters
    ----------
    out_dir : directory to write (created; files of an older report there are overwritten)
    title : page title
    meta : JSON-serialisable dict stored at the top of ``summary.json`` (e.g. options)
    """

    def __init__(self, out_dir: Union[str, Path], title: str = "glasslens report",
                 meta: Optional[Dict[str, Any]] = None):
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ValueError(f"out_dir {self.out_dir} exists and is not a directory")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "figures").mkdir(exist_ok=True)
        for old in (self.out_dir / "figures").glob("*.png"):  # an earlier run's figures
            old.unlink()
        self.title = str(title)
        self.meta: Dict[str, Any] = to_jsonable(dict(meta or {}))
        self.sections: List[Dict[str, Any]] = []
        self.findings: Dict[str, Dict[str, Any]] = {}
        self.header: str = ""  # one line under the title (e.g. data and architecture)
        self.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        from .._lib._build import __version__

        self.version = __version__

    # ---- building ---------------------------------------------------------------------------
    def figure_path(self, name: str) -> Path:
        """Path for a figure file ``figures/<name>.png`` inside the report."""
        return self.out_dir / "figures" / f"{slug(name)}.png"

    def add_section(
        self,
        title: str,
        text: str = "",
        figures: Sequence[Union[FigureLike, Tuple[FigureLike, str]]] = (),
        data: Optional[Dict[str, Any]] = None,
        key: Optional[str] = None,
        seconds: Optional[float] = None,
    ) -> Dict[str, Any]:
        """Append a section and rewrite ``summary.json`` and ``index.html``.

        ``figures``: matplotlib Figures (saved as ``figures/<key>-<n>.png``) or paths of image
        files inside the report directory, each optionally paired with a caption:
        ``[(fig, "caption"), ...]``. ``data``: JSON-serialisable dict (numpy allowed).
        ``key``: unique identifier (default: slug of the title). Returns the stored section.
        """
        if not isinstance(title, str) or not title:
            raise ValueError("title must be a non-empty str")
        k = slug(key or title)
        existing = {s["key"] for s in self.sections}
        base, n = k, 2
        while k in existing:
            k, n = f"{base}-{n}", n + 1
        figs: List[Dict[str, str]] = []
        for i, item in enumerate(figures):
            fig, caption = item if isinstance(item, tuple) else (item, "")
            figs.append({"path": self._store_figure(fig, f"{k}-{i + 1}"), "caption": str(caption)})
        section = {"key": k, "title": title, "text": str(text), "figures": figs,
                   "data": to_jsonable(dict(data or {})),
                   "seconds": None if seconds is None else round(float(seconds), 3)}
        self.sections.append(section)
        self.write()
        return section

    def add_finding(self, name: str, finding: Dict[str, Any]) -> None:
        """Record the answer to question ``name`` (a dict with at least ``verdict``; see the
        module docstring) for the findings panel and ``summary.json["findings"]``."""
        if not isinstance(name, str) or not name:
            raise ValueError("finding name must be a non-empty str")
        if not isinstance(finding, dict) or "verdict" not in finding:
            raise ValueError(f"finding {name!r} must be a dict with a 'verdict'")
        self.findings[name] = to_jsonable(dict(finding))  # written by the next write()

    def _store_figure(self, fig: FigureLike, name: str) -> str:
        if isinstance(fig, (str, Path)):
            p = Path(fig)
            if not p.is_absolute():
                p = self.out_dir / p
            if not p.is_file():
                raise FileNotFoundError(f"figure file {p} does not exist")
            try:
                return p.resolve().relative_to(self.out_dir.resolve()).as_posix()
            except ValueError:
                raise ValueError(f"figure file {p} is outside the report directory "
                                 f"{self.out_dir}") from None
        if not hasattr(fig, "savefig"):
            raise TypeError(f"figures must be matplotlib Figures or paths, got {type(fig).__name__}")
        from .._lib._plotting import save

        p = save(fig, self.figure_path(name))
        return p.relative_to(self.out_dir).as_posix()

    # ---- output -------------------------------------------------------------------------------
    def summary(self) -> Dict[str, Any]:
        """The content of ``summary.json``."""
        return {"title": self.title, "created": self.created,
                "glasslens": {"version": self.version}, "meta": self.meta,
                "findings": self.findings, "sections": self.sections}

    def write(self) -> None:
        """(Re)write ``summary.json`` and ``index.html``."""
        write_json(self.out_dir / "summary.json", self.summary(), indent=2, atomic=True)
        (self.out_dir / "index.html").write_text(self._html())

    def _html(self) -> str:
        e = html.escape
        toc = "".join(f'<li><a href="#{e(s["key"])}">{e(s["title"])}</a></li>'
                      for s in self.sections)
        if self.findings:
            toc = '<li><a href="#findings"><b>Findings</b></a></li>' + toc
        body = [self._findings_html()] if self.findings else []
        for s in self.sections:
            parts = [f'<section id="{e(s["key"])}"><h2>{e(s["title"])}</h2>']
            for para in [p for p in s["text"].split("\n\n") if p.strip()]:
                parts.append(_md_table_html(para) or f"<p>{e(para.strip())}</p>")
            for f in s["figures"]:
                cap = f"<figcaption>{e(f['caption'])}</figcaption>" if f["caption"] else ""
                parts.append(f'<figure><img class="zoom" src="{e(f["path"])}" '
                             f'alt="{e(f["caption"] or s["title"])}" loading="lazy">{cap}'
                             f'</figure>')
            if s["data"]:
                parts.append(_data_html(s["data"], label="raw data"))
            parts.append("</section>")
            body.append("\n".join(parts))
        meta = _data_html(self.meta, label="run options and timing") if self.meta else ""
        header = f'<p class="head">{e(self.header)}</p>' if self.header else ""
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(self.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS}</style></head><body>
<nav id="toc"><b>Contents</b><ul>{toc}</ul></nav>
<main>
<h1>{e(self.title)}</h1>
<p class="sub">glasslens {e(self.version)} &middot; {e(self.created)} &middot; data: <a href="summary.json">summary.json</a></p>
{header}
{meta}
{chr(10).join(body)}
</main>
<div id="lightbox" hidden><img alt="enlarged figure"></div>
<script>{_JS}</script>
</body></html>
"""

    def _findings_html(self) -> str:
        e = html.escape
        rows = []
        for name, f in self.findings.items():
            st = str(f.get("calibration_status", "not calibrated"))
            link = (f' <a href="#{e(str(f["section"]))}">details</a>'
                    if f.get("section") and any(s["key"] == f["section"] for s in self.sections)
                    else "")
            rows.append(f'<tr><th>{e(str(f.get("question", name)))}</th>'
                        f'<td>{e(str(f["verdict"]))}{link}</td>'
                        f'<td class="cal cal-{e(st.replace(" ", "-"))}">'
                        f'{e(str(f.get("calibration", "not calibrated in this run")))}</td></tr>')
        return ('<section id="findings"><h2>Findings</h2><table class="findings sortable">'
                '<thead><tr><th>question</th><th>answer in this run</th>'
                '<th>calibration of the instrument</th></tr></thead><tbody>'
                + "".join(rows) + "</tbody></table></section>")


_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;display:flex}
#toc{position:sticky;top:0;align-self:flex-start;height:100vh;overflow:auto;width:230px;
 flex:none;box-sizing:border-box;padding:1em;background:#f7f7f7;border-right:1px solid #ddd;
 font-size:90%}
#toc ul{padding-left:1em;margin:.4em 0} #toc li{margin:.3em 0}
main{max-width:1100px;padding:0 1.5em 3em;min-width:0;flex:1}
h1{margin-bottom:.2em} .sub{color:#666;margin-top:0} .head{font-size:105%}
section{border-top:1px solid #ddd;margin-top:1.5em}
figure{margin:1em 0} img.zoom{max-width:100%;border:1px solid #eee;cursor:zoom-in}
figcaption{color:#444;font-size:90%}
table{border-collapse:collapse;font-size:90%;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}
table.sortable thead th{cursor:pointer;background:#f2f2f2}
table.sortable thead th:after{content:" \\2195";color:#aaa}
table.findings th{width:18%} .cal-ok{background:#eef8ee} .cal-warning{background:#fff4e0}
.cal-not-calibrated{background:#f4f4f4;color:#555}
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:30em}
#lightbox{position:fixed;inset:0;background:rgba(0,0,0,.85);display:flex;
 align-items:center;justify-content:center;cursor:zoom-out;z-index:10}
#lightbox[hidden]{display:none} #lightbox img{max-width:96vw;max-height:96vh;background:#fff}
"""

_JS = """
(function(){
var lb=document.getElementById('lightbox'),li=lb.querySelector('img');
document.querySelectorAll('img.zoom').forEach(function(im){im.addEventListener('click',
 function(){li.src=im.src;lb.hidden=false;});});
lb.addEventListener('click',function(){lb.hidden=true;});
document.addEventListener('keydown',function(ev){if(ev.key==='Escape')lb.hidden=true;});
function val(c){var t=c.textContent.trim(),x=parseFloat(t.replace(/^[\\[(]/,''));
 return isNaN(x)?t.toLowerCase():x;}
document.querySelectorAll('table.sortable').forEach(function(tb){
 tb.querySelectorAll('thead th').forEach(function(th,i){th.addEventListener('click',function(){
  var body=tb.tBodies[0],rows=Array.prototype.slice.call(body.rows),asc=th.dataset.dir!=='asc';
  rows.sort(function(a,b){var x=val(a.cells[i]),y=val(b.cells[i]);
   if(typeof x!==typeof y){x=String(x);y=String(y);}
   return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});th.dataset.dir=asc?'asc':'desc';});});});
})();
"""


def _md_table_html(para: str) -> Optional[str]:
    """A Markdown pipe table (every line starts with '|', second line a separator) as HTML;
    None if ``para`` is not such a table."""
    lines = [ln.strip() for ln in para.strip().splitlines()]
    if len(lines) < 2 or not all(ln.startswith("|") for ln in lines):
        return None
    if not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[1]):
        return None
    e = html.escape

    def cells(ln: str) -> List[str]:
        return [c.strip() for c in ln.strip().strip("|").split("|")]

    head = "".join(f"<th>{e(c)}</th>" for c in cells(lines[0]))
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells(ln)) + "</tr>"
                   for ln in lines[2:])
    return (f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            f"</table>")


def _data_html(data: Dict[str, Any], label: str = "data") -> str:
    """The raw data of a section, collapsed (a table of its scalars and the rest as JSON)."""
    e = html.escape
    scalars = {k: v for k, v in data.items() if not isinstance(v, (dict, list))}
    rest = {k: v for k, v in data.items() if k not in scalars}
    out = []
    if scalars:
        rows = "".join(f"<tr><th>{e(str(k))}</th><td>{e(_fmt(v))}</td></tr>"
                       for k, v in scalars.items())
        out.append(f"<table>{rows}</table>")
    if rest:
        out.append(f"<pre>{e(_compact_json(rest))}</pre>")
    return (f'<details class="raw"><summary>{e(label)} ({", ".join(e(str(k)) for k in data)})'
            f'</summary>{"".join(out)}</details>')


def _compact_json(x: Any, indent: int = 0) -> str:
    """JSON with one key per line but lists of scalars kept on one line."""
    pad = "  " * (indent + 1)
    if isinstance(x, dict) and x:
        items = [f"{pad}{json.dumps(str(k))}: {_compact_json(v, indent + 1)}" for k, v in x.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(x, list) and any(isinstance(v, (dict, list)) for v in x):
        items = [pad + _compact_json(v, indent + 1) for v in x]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(x)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)
