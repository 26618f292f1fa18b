//! A small scanner of the Markdown of `README.md`: its links, its reference definitions and
//! its headings, with where each one is, outside code blocks, code spans and HTML comments.
//!
//! Shared by `tests/readme.rs` (which checks that every link of the README works on the
//! repository page, on the registry and on docs.rs) and by the `readme-links` tool
//! (`tools/src/bin/readme-links.rs`, which converts rustdoc-only links); not a module of
//! `tests/common/mod.rs`, which the other tests include. It knows the part of CommonMark
//! the README uses (fenced code, code spans, inline and reference links and images,
//! reference definitions, ATX headings, HTML comments) and no more: no indented code
//! blocks, no setext headings, no autolinks other than `<https://...>`.

use std::ops::Range;

/// How a link names its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `[text](destination)`.
    Inline {
        /// The destination as written.
        destination: String,
        /// Where it is in the text: `(destination "title")`, parentheses included.
        span: Range<usize>,
    },
    /// `[text][label]`.
    Full {
        /// The label as written.
        label: String,
    },
    /// `[text][]`: the label is the text.
    Collapsed,
    /// `[text]`: the label is the text, if a definition has it (otherwise it is not a link).
    Shortcut,
}

/// A link or an image, as written.
#[derive(Debug, Clone)]
pub struct Link {
    /// `![...]`.
    pub image: bool,
    /// Between the brackets, as written.
    pub text: String,
    /// How it names its destination.
    pub kind: Kind,
    /// Where it is: `[` (or `!`) to its last character.
    pub span: Range<usize>,
    /// Its first line, from 1.
    pub line: usize,
}

impl Link {
    /// The label that a definition must have, for the three reference forms.
    pub fn label(&self) -> Option<&str> {
        match &self.kind {
            Kind::Inline { .. } => None,
            Kind::Full { label } => Some(label),
            Kind::Collapsed | Kind::Shortcut => Some(&self.text),
        }
    }
}

/// A reference definition, `[label]: destination` at the start of a line.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The label as written.
    pub label: String,
    /// The destination as written (angle brackets removed).
    pub destination: String,
    /// The whole line, its line break included.
    pub span: Range<usize>,
    /// Its line, from 1.
    pub line: usize,
    /// Whether CommonMark takes it as a definition: not if it continues a paragraph
    /// (a definition cannot interrupt one), in which case it renders as text.
    pub starts_a_block: bool,
}

/// What the scanner found.
#[derive(Debug, Default)]
pub struct Document {
    /// The links and images, in order.
    pub links: Vec<Link>,
    /// The reference definitions, in order.
    pub definitions: Vec<Definition>,
    /// The headings' anchors, as GitHub and rustdoc make them (see [`anchor`]).
    pub anchors: Vec<String>,
}

impl Document {
    /// The first definition of `label` (the one CommonMark uses), if any.
    pub fn definition(&self, label: &str) -> Option<&Definition> {
        let label = normalize_label(label);
        self.definitions
            .iter()
            .find(|definition| normalize_label(&definition.label) == label)
    }
}

/// A label as CommonMark compares them: case-insensitive, runs of white space as one space.
pub fn normalize_label(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The anchor of a heading, as GitHub and rustdoc both derive it: lowercase letters and
/// digits, `-` and `_` kept, each space a `-`, everything else (backticks, colons,
/// parentheses) dropped. Neither numbers a repeated heading the same way, so a README
/// anchor must name a heading that is there once.
pub fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().next().unwrap_or(c))
            } else if c == ' ' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// Whether `destination` is written as a rustdoc intra-doc link (`Timer::tick`,
/// `crate::policy`, `` `Tick` ``, `fn@foo`, `Vec<T>`, `tick()`), which only rustdoc
/// understands.
pub fn is_rust_path(destination: &str) -> bool {
    rust_path(destination).is_some()
}

/// The item path an intra-doc link names: backticks, a disambiguator (`struct@`),
/// generics, a trailing `()` or `!` and a leading `crate::` removed. `None` if it is not
/// one.
pub fn rust_path(destination: &str) -> Option<String> {
    let mut path = destination.trim().trim_matches('`');
    if let Some((disambiguator, rest)) = path.split_once('@') {
        if !disambiguator.chars().all(|c| c.is_ascii_lowercase()) {
            return None;
        }
        path = rest;
    }
    let path = path.trim_end_matches("()").trim_end_matches('!');
    let mut plain = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    if depth != 0 || plain.is_empty() {
        return None;
    }
    let plain = plain.strip_prefix("crate::").unwrap_or(&plain).to_owned();
    let identifier = |segment: &str| {
        let mut chars = segment.chars();
        matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    };
    plain.split("::").all(identifier).then_some(plain)
}

/// The item path of a docs.rs page of an item (`https://docs.rs/kadenz/latest/kadenz/
/// struct.Timer.html#method.tick` is `Timer::tick`; a page of another crate keeps that
/// crate's name: `tokio::time::Instant`), or `None` if `url` is not one. `crate_name` is
/// the name of the crate whose documentation the README is.
pub fn docs_rs_item_path(url: &str, crate_name: &str) -> Option<String> {
    let rest = url.strip_prefix("https://docs.rs/")?;
    let (page, fragment) = match rest.split_once('#') {
        Some((page, fragment)) => (page, Some(fragment)),
        None => (rest, None),
    };
    let mut parts = page.split('/');
    let package = parts.next()?;
    let _version = parts.next()?;
    let segments: Vec<&str> = parts.collect();
    let (file, modules) = segments.split_last()?;
    let (krate, modules) = modules.split_first()?;
    if *krate != package.replace('-', "_") {
        return None;
    }
    let mut path: Vec<String> = Vec::new();
    if *krate != crate_name {
        path.push((*krate).to_owned());
    }
    path.extend(modules.iter().map(|module| (*module).to_owned()));
    if *file != "index.html" {
        let name = file.strip_suffix(".html")?;
        let (kind, name) = name.split_once('.')?;
        if !ITEM_KINDS.contains(&kind) {
            return None;
        }
        path.push(name.to_owned());
    }
    if let Some(fragment) = fragment {
        let (kind, member) = fragment.split_once('.')?;
        if !MEMBER_KINDS.contains(&kind) {
            return None;
        }
        path.push(member.to_owned());
    }
    let path = path.join("::");
    rust_path(&path).filter(|_| !path.is_empty())
}

/// The page kinds of rustdoc's file names (`struct.Timer.html`).
pub const ITEM_KINDS: &[&str] = &[
    "struct",
    "enum",
    "trait",
    "fn",
    "type",
    "macro",
    "constant",
    "static",
    "union",
    "traitalias",
    "attr",
    "derive",
    "primitive",
];

/// The anchor kinds of rustdoc's item pages (`#method.tick`).
pub const MEMBER_KINDS: &[&str] = &[
    "method",
    "tymethod",
    "variant",
    "structfield",
    "associatedconstant",
    "associatedtype",
];

/// Scans `text`.
pub fn scan(text: &str) -> Document {
    let mut document = Document::default();
    let lines = lines(text);
    // Which bytes the inline scan looks at: not code blocks, definitions or HTML comments.
    let mut visible = vec![true; text.len()];
    let mut hide = |range: Range<usize>| visible[range].iter_mut().for_each(|v| *v = false);
    let mut fence: Option<(char, usize)> = None;
    let mut in_comment = false;
    // Whether the previous line was paragraph text (which a definition cannot interrupt).
    let mut in_paragraph = false;
    for (number, line) in lines.iter().enumerate() {
        let content = &text[line.clone()];
        let trimmed = content.trim_start();
        if let Some((marker, length)) = fence {
            hide(line.clone());
            let run = trimmed.chars().take_while(|&c| c == marker).count();
            if run >= length && trimmed[run..].trim().is_empty() {
                fence = None;
            }
            continue;
        }
        if in_comment {
            hide(line.clone());
            in_comment = !content.contains("-->");
            continue;
        }
        let marker = trimmed.chars().next().unwrap_or(' ');
        let run = trimmed.chars().take_while(|&c| c == marker).count();
        if (marker == '`' || marker == '~') && run >= 3 {
            hide(line.clone());
            fence = Some((marker, run));
            in_paragraph = false;
            continue;
        }
        if trimmed.starts_with("<!--") {
            hide(line.clone());
            in_comment = !content.contains("-->");
            in_paragraph = false;
            continue;
        }
        if trimmed.trim().is_empty() {
            in_paragraph = false;
            continue;
        }
        let indent = content.len() - trimmed.len();
        if indent <= 3 {
            if let Some(heading) = heading(trimmed) {
                document.anchors.push(anchor(&heading));
                in_paragraph = false;
                continue;
            }
            if let Some((label, destination)) = definition(trimmed) {
                hide(line.clone());
                document.definitions.push(Definition {
                    label,
                    destination,
                    span: line.start..line.end,
                    line: number + 1,
                    starts_a_block: !in_paragraph,
                });
                // A definition after text is text, and so is what follows it.
                continue;
            }
        }
        // Paragraph text, a list item or a table row: a definition on the next line would
        // continue it.
        in_paragraph = true;
    }
    document.links = inline_links(text, &visible);
    document
}

/// Each line's byte range, its line break included.
fn lines(text: &str) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            lines.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < text.len() {
        lines.push(start..text.len());
    }
    lines
}

/// The text of an ATX heading (`## Precision`), without its markers.
fn heading(line: &str) -> Option<String> {
    let level = line.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim_end();
    Some(text.to_owned())
}

/// `[label]: destination "optional title"` at the start of a line (up to three spaces in).
fn definition(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('[')?;
    let close = closing_bracket(rest)?;
    let label = &rest[..close];
    if label.trim().is_empty() || label.starts_with('^') {
        return None;
    }
    let rest = rest[close + 1..].strip_prefix(':')?;
    let rest = rest.trim_start();
    let destination = if let Some(inner) = rest.strip_prefix('<') {
        inner.split_once('>')?.0
    } else {
        rest.split_whitespace().next()?
    };
    Some((label.to_owned(), destination.to_owned()))
}

/// Where the `]` that closes a bracket opened just before `text` is, skipping escapes,
/// code spans and nested brackets; `None` if it is not there.
fn closing_bracket(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'`' => i = code_span_end(text, i).unwrap_or(i + 1) - 1,
            b'[' => depth += 1,
            b']' if depth == 0 => return Some(i),
            b']' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// If a code span starts at `start` (a run of backticks closed by a run of the same
/// length before the end of the paragraph), the index just after it.
fn code_span_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let run = bytes[start..].iter().take_while(|&&b| b == b'`').count();
    let mut i = start + run;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let other = bytes[i..].iter().take_while(|&&b| b == b'`').count();
            if other == run {
                return Some(i + other);
            }
            i += other;
        } else if bytes[i..].starts_with(b"\n\n") {
            return None;
        } else {
            i += 1;
        }
    }
    None
}

/// The links and images among the `visible` bytes of `text`.
fn inline_links(text: &str, visible: &[bool]) -> Vec<Link> {
    let bytes = text.as_bytes();
    let mut links = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !visible[i] {
            i += 1;
            continue;
        }
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => i = code_span_end(text, i).unwrap_or(i + 1),
            b'<' if text[i..].starts_with("<!--") => {
                i = text[i..].find("-->").map_or(bytes.len(), |end| i + end + 3);
            }
            b'[' => {
                let image = i > 0 && bytes[i - 1] == b'!' && visible[i - 1];
                let start = if image { i - 1 } else { i };
                let Some(close) = closing_bracket(&text[i + 1..]).map(|c| i + 1 + c) else {
                    i += 1;
                    continue;
                };
                let link_text = text[i + 1..close].to_owned();
                if link_text.contains("\n\n") {
                    i += 1;
                    continue;
                }
                let line = text[..start].matches('\n').count() + 1;
                let after = close + 1;
                if let Some((destination, end)) = inline_destination(text, after) {
                    links.push(Link {
                        image,
                        text: link_text,
                        kind: Kind::Inline {
                            destination,
                            span: after..end,
                        },
                        span: start..end,
                        line,
                    });
                    // The text of a link can hold an image, and nothing else that links.
                    i += 1;
                    continue;
                }
                if bytes.get(after) == Some(&b'[') {
                    if let Some(label_end) = closing_bracket(&text[after + 1..]) {
                        let label = &text[after + 1..after + 1 + label_end];
                        let end = after + label_end + 2;
                        let kind = if label.is_empty() {
                            Kind::Collapsed
                        } else {
                            Kind::Full {
                                label: label.to_owned(),
                            }
                        };
                        links.push(Link {
                            image,
                            text: link_text,
                            kind,
                            span: start..end,
                            line,
                        });
                        i = end;
                        continue;
                    }
                }
                links.push(Link {
                    image,
                    text: link_text,
                    kind: Kind::Shortcut,
                    span: start..after,
                    line,
                });
                // An undefined shortcut is text, and the brackets inside it may link.
                i += 1;
            }
            _ => i += 1,
        }
    }
    links
}

/// `(destination "optional title")` at `start`: the destination and the index after `)`.
fn inline_destination(text: &str, start: usize) -> Option<(String, usize)> {
    let rest = text[start..].strip_prefix('(')?;
    let rest_trimmed = rest.trim_start();
    let skipped = rest.len() - rest_trimmed.len();
    let (destination, after_destination) = if let Some(inner) = rest_trimmed.strip_prefix('<') {
        let end = inner.find('>')?;
        (&inner[..end], skipped + 1 + end + 1)
    } else {
        let mut depth = 0;
        let mut end = rest_trimmed.len();
        for (j, c) in rest_trimmed.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = j;
                    break;
                }
                ')' => depth -= 1,
                c if c.is_whitespace() => {
                    end = j;
                    break;
                }
                _ => {}
            }
        }
        (&rest_trimmed[..end], skipped + end)
    };
    let tail = &rest[after_destination..];
    let close = tail.find(')')?;
    let title = tail[..close].trim();
    let titled = title.is_empty()
        || (title.len() >= 2
            && ((title.starts_with('"') && title.ends_with('"'))
                || (title.starts_with('\'') && title.ends_with('\''))));
    if !titled || destination.contains('\n') {
        return None;
    }
    Some((
        destination.to_owned(),
        start + 1 + after_destination + close + 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_forms_of_links_outside_code() {
        let text = "# A `title`: here\n\n\
                    See [`Tick`], [drift](Tick::drift \"t\"), [x][Label], [y][] and \
                    ![pic][img].\n\
                    `[not](a link)` and\n\n\
                    ```rust\n[no](link)\n```\n\n\
                    [label]: https://example.com\n\
                    [img]: docs/a.svg\n";
        let document = scan(text);
        let kinds: Vec<_> = document
            .links
            .iter()
            .map(|l| (l.text.as_str(), l.kind.clone()))
            .collect();
        assert_eq!(kinds.len(), 5, "{kinds:?}");
        assert_eq!(kinds[0], ("`Tick`", Kind::Shortcut));
        assert!(
            matches!(&kinds[1].1, Kind::Inline { destination, .. } if destination == "Tick::drift")
        );
        assert_eq!(
            kinds[2].1,
            Kind::Full {
                label: "Label".into()
            }
        );
        assert_eq!(kinds[3].1, Kind::Collapsed);
        assert!(document.links[4].image);
        assert_eq!(document.anchors, ["a-title-here"]);
        assert_eq!(document.definitions.len(), 2);
        assert!(document.definitions.iter().all(|d| d.starts_a_block));
        assert_eq!(
            document.definition("LABEL").unwrap().destination,
            "https://example.com"
        );
    }

    #[test]
    fn a_definition_cannot_interrupt_a_paragraph() {
        let document = scan("Some text\n[a]: https://example.com\n");
        assert!(!document.definitions[0].starts_a_block);
    }

    #[test]
    fn paths_and_docs_rs_pages() {
        assert_eq!(
            rust_path("crate::Timer::tick").as_deref(),
            Some("Timer::tick")
        );
        assert_eq!(rust_path("`TimerSet<K>`").as_deref(), Some("TimerSet"));
        assert_eq!(rust_path("fn@tick()").as_deref(), Some("tick"));
        assert!(rust_path("LICENSE-MIT").is_none());
        assert!(rust_path("docs/a.svg").is_none());
        assert!(rust_path("https://docs.rs").is_none());
        let page = "https://docs.rs/kadenz/latest/kadenz/struct.Timer.html#method.tick";
        assert_eq!(
            docs_rs_item_path(page, "kadenz").as_deref(),
            Some("Timer::tick")
        );
        let page = "https://docs.rs/kadenz/latest/kadenz/policy/index.html";
        assert_eq!(docs_rs_item_path(page, "kadenz").as_deref(), Some("policy"));
        let page = "https://docs.rs/futures-core/latest/futures_core/stream/trait.Stream.html";
        assert_eq!(
            docs_rs_item_path(page, "kadenz").as_deref(),
            Some("futures_core::stream::Stream")
        );
        assert!(docs_rs_item_path(
            "https://docs.rs/crate/kadenz/latest/source/README.md",
            "kadenz"
        )
        .is_none());
    }
}
