//! Rendering shared by the self-contained HTML pages (the backtest's
//! report.html and `healthscore report`): HTML escaping, the page shell
//! with its inline CSS, and in [`svg`] the inline SVG chart primitives.
//! A base module: it imports nothing of the stages, and the pages built
//! on it load nothing from the network (no script, font or image).

pub mod svg;

/// Escapes text for HTML (and SVG): every string from the data passes
/// through here, so a customer named `<script>` is shown, not run.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The style every page shares (layout, headings, tiles, figures, tables).
pub const CSS: &str = "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:960px;color:#222;line-height:1.4;padding:0 12px}
h1{font-size:24px;margin-bottom:4px} h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px} h3{font-size:16px;margin-top:22px}
.sub{color:#666;font-size:13px} .kpis{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}
.kpi{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:150px;background:#fafafa}
.kpi b{display:block;font-size:24px} .kpi span{font-size:12px;color:#555}
.row{display:flex;flex-wrap:wrap;gap:16px} figure{margin:0} .row figure{max-width:450px} figcaption{font-size:13px;color:#444;margin:4px 0 12px}
table{border-collapse:collapse;font-size:13px;margin:8px 0 16px} th,td{border:1px solid #ddd;padding:4px 8px;text-align:right} th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3} pre{background:#f6f8fa;border:1px solid #ddd;padding:10px;font-size:12px;white-space:pre-wrap}
.note{background:#fff8e1;border-left:4px solid #e6a23c;padding:6px 10px;font-size:13px;margin:8px 0}
.good{color:#2e7d32} .bad{color:#c62828}
";

/// A Content-Security-Policy that forbids every fetch (scripts, styles
/// from elsewhere, images, fonts, frames, connections, forms): only the
/// page's inline `<style>` and style attributes are allowed.
pub const CSP_NO_FETCH: &str = r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">"#;

/// The start of a page up to `<body>`: doctype, charset, `extra_head`
/// (e.g. [`CSP_NO_FETCH`]), viewport, the escaped `title`, and the shared
/// [`CSS`] followed by `extra_css`.
pub fn page_open(title: &str, extra_head: &str, extra_css: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{extra_head}<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>
{CSS}{extra_css}</style></head><body>
"#,
        esc(title)
    )
}

/// The end of a page opened with [`page_open`].
pub const PAGE_CLOSE: &str = "</body></html>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert('x' & "y")</script>"#),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
        );
        assert_eq!(esc("Zoë — ok"), "Zoë — ok");
    }

    #[test]
    fn page_shell_escapes_the_title_and_places_the_head() {
        let p = page_open("a <b>", CSP_NO_FETCH, ".x{}\n");
        assert!(p.starts_with("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\""));
        assert!(p.contains("<title>a &lt;b&gt;</title>"));
        assert!(
            p.ends_with(".good{color:#2e7d32} .bad{color:#c62828}\n.x{}\n</style></head><body>\n")
        );
    }
}
