//! Makes the links of `README.md` work on the repository page, on the registry and on
//! docs.rs alike (CONTRIBUTING.md, "Links in the README").
//!
//! ```text
//! cargo run -p kadenz-tools --bin readme-links
//! ```
//!
//! The README is also the crate documentation, and rustdoc understands links that nothing
//! else does: `[text](Timer::tick)`, `` [`Tick`] ``. This tool
//!
//! 1. documents the crate twice (all features, and the default features with the
//!    dependencies), in `target/readme-links/`, to know every page and anchor rustdoc
//!    makes;
//! 2. turns every such link of the README into a reference link (`[text][Timer::tick]`)
//!    and defines each label at the end of the README as its docs.rs page
//!    (`https://docs.rs/kadenz/latest/kadenz/struct.Timer.html#method.tick`), looked up in
//!    the pages of step 1;
//! 3. checks every docs.rs page the README names against the same pages;
//! 4. writes `docs/rustdoc-links.md`, which `src/lib.rs` includes before the README: the
//!    same labels as intra-doc links (`[Timer::tick]: Timer::tick`), which rustdoc takes
//!    because the first definition of a label wins. Items behind a cargo feature stay
//!    docs.rs links in rustdoc too (the default documentation build would fail on them),
//!    and so do items of other crates (a `--no-deps` build would print their paths as
//!    the links' targets); the prelude names them in comments.
//!
//! Running it again changes nothing. `tests/readme.rs` fails on a link it would convert.

use std::collections::BTreeMap;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

#[path = "../../../tests/common/markdown.rs"]
#[allow(dead_code)] // the test's helpers
mod markdown;

use markdown::{docs_rs_item_path, rust_path, Kind};

/// The crate whose README this is.
const CRATE: &str = "kadenz";
/// The first line of the comment that starts the README's block of API links.
const BLOCK_START: &str =
    "<!-- API links, written by `cargo run -p kadenz-tools --bin readme-links`";
const BLOCK_COMMENT: &str =
    "<!-- API links, written by `cargo run -p kadenz-tools --bin readme-links`
(CONTRIBUTING.md): docs.rs pages here and on the registry; rustdoc takes the same labels as
intra-doc links from docs/rustdoc-links.md, which src/lib.rs includes first. -->
";
/// The prelude for rustdoc.
const PRELUDE: &str = "docs/rustdoc-links.md";
/// The comment a prelude line starts with for a label rustdoc takes from the README.
const ABSOLUTE: &str = "[//]: # \"a docs.rs link in rustdoc too: ";

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tools/ is in the repository")
        .to_path_buf();
    let docs = Docs::build(&root);
    let readme_path = root.join("README.md");
    let readme = fs::read_to_string(&readme_path).expect("README.md");
    let (readme, prelude) = match convert(&readme, &docs) {
        Ok(converted) => converted,
        Err(errors) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            exit(1);
        }
    };
    write_if_changed(&readme_path, &readme);
    write_if_changed(&root.join(PRELUDE), &prelude);
}

fn write_if_changed(path: &Path, contents: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(contents) {
        fs::write(path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("wrote {}", path.display());
    } else {
        println!("{} is current", path.display());
    }
}

/// Where a label of the README points, once converted.
struct Target {
    url: String,
    /// The intra-doc path for rustdoc: for an item of this crate that its default
    /// documentation build has.
    intra_doc: Option<String>,
}

/// The labels met so far and where they point, and what went wrong.
struct Labels<'a> {
    docs: &'a Docs,
    /// Normalized label -> (label as first written, target).
    targets: BTreeMap<String, (String, Target)>,
    errors: Vec<String>,
}

impl Labels<'_> {
    /// Looks `path` up for `label`, once per label. `written` is the docs.rs page the
    /// README gives it, if any: a page of a dependency that the local documentation does
    /// not have (an item behind a feature kadenz does not turn on) is kept unchecked.
    fn add(
        &mut self,
        label: &str,
        path: &str,
        written: Option<&str>,
        line: usize,
    ) -> Option<&Target> {
        let key = markdown::normalize_label(label);
        if !self.targets.contains_key(&key) {
            let target = match (self.docs.resolve(path), written) {
                (Ok(target), _) => target,
                (Err(e), Some(url)) if !url.starts_with(&format!("https://docs.rs/{CRATE}/")) => {
                    eprintln!("note: README.md:{line}: [{label}] {url} is not checked: {e}");
                    Target {
                        url: url.to_owned(),
                        intra_doc: None,
                    }
                }
                (Err(e), _) => {
                    self.errors
                        .push(format!("README.md:{line}: [{label}] -> {path}: {e}"));
                    return None;
                }
            };
            self.targets.insert(key.clone(), (label.to_owned(), target));
        }
        self.targets.get(&key).map(|(_, target)| target)
    }
}

/// The converted README and the prelude, or what went wrong.
fn convert(readme: &str, docs: &Docs) -> Result<(String, String), Vec<String>> {
    let block_start = readme.find(BLOCK_START).unwrap_or(readme.len());
    let (body, block) = readme.split_at(block_start);
    let body_lines = body.matches('\n').count();
    let body_doc = markdown::scan(body);
    let block_doc = markdown::scan(block);
    let all = markdown::scan(readme);
    let used = |label: &str| {
        let key = markdown::normalize_label(label);
        all.links
            .iter()
            .any(|l| l.label().map(markdown::normalize_label).as_deref() == Some(key.as_str()))
    };
    let mut labels = Labels {
        docs,
        targets: BTreeMap::new(),
        errors: Vec::new(),
    };
    // Replacements in the body, and the labels the block defines (normalized -> label).
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut block_labels: BTreeMap<String, String> = BTreeMap::new();

    for link in &body_doc.links {
        match &link.kind {
            Kind::Inline { destination, span } if !link.image => {
                if let Some(path) = rust_path(destination) {
                    let label = destination.trim().to_owned();
                    edits.push((span.clone(), format!("[{label}]")));
                    block_labels.insert(markdown::normalize_label(&label), label.clone());
                    labels.add(&label, &path, None, link.line);
                }
            }
            Kind::Inline { .. } => {}
            _ => {
                let label = link.label().expect("a reference link");
                if all.definition(label).is_some() {
                    continue;
                }
                match rust_path(label) {
                    Some(path) => {
                        block_labels.insert(markdown::normalize_label(label), label.to_owned());
                        labels.add(label, &path, None, link.line);
                    }
                    None if matches!(link.kind, Kind::Shortcut) => {} // plain brackets
                    None => labels.errors.push(format!(
                        "README.md:{}: [{label}] is not defined, and is not an item path",
                        link.line
                    )),
                }
            }
        }
    }
    // The body's definitions: a rustdoc path becomes its docs.rs page, and a docs.rs page
    // is checked (and corrected) like the block's.
    for definition in &body_doc.definitions {
        if all.definition(&definition.label).map(|d| d.line) != Some(definition.line) {
            continue; // a later duplicate, which CommonMark ignores
        }
        let written = definition.destination.as_str();
        let (path, url) = match (rust_path(written), docs_rs_item_path(written, CRATE)) {
            (Some(path), _) => (path, None),
            (None, Some(path)) => (path, Some(written)),
            (None, None) => continue, // a picture, another site, a source file
        };
        if let Some(target) = labels.add(&definition.label, &path, url, definition.line) {
            if target.url != written {
                let at = body[definition.span.clone()]
                    .find(written)
                    .expect("as scanned");
                let start = definition.span.start + at;
                edits.push((start..start + written.len(), target.url.clone()));
            }
        }
    }
    // The block's: rewritten from their paths, dropped when no longer used.
    for definition in &block_doc.definitions {
        let Some(path) = docs_rs_item_path(&definition.destination, CRATE) else {
            continue;
        };
        if !used(&definition.label) {
            continue;
        }
        let key = markdown::normalize_label(&definition.label);
        block_labels
            .entry(key)
            .or_insert_with(|| definition.label.clone());
        let line = body_lines + definition.line;
        labels.add(
            &definition.label,
            &path,
            Some(&definition.destination),
            line,
        );
    }
    if !labels.errors.is_empty() {
        return Err(labels.errors);
    }

    let mut new_body = body.to_owned();
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    for (span, text) in edits {
        new_body.replace_range(span, &text);
    }
    let mut readme = new_body.trim_end().to_owned();
    readme.push('\n');
    if !block_labels.is_empty() {
        readme.push('\n');
        readme.push_str(BLOCK_COMMENT);
        for (key, label) in &block_labels {
            let (_, target) = &labels.targets[key];
            readme.push_str(&format!("[{label}]: {}\n", target.url));
        }
    }

    let mut prelude = String::from(
        "[//]: # \"Written by `cargo run -p kadenz-tools --bin readme-links` (do not edit): \
         the labels that README.md defines as docs.rs pages, as intra-doc links, for rustdoc \
         (src/lib.rs includes this file before README.md).\"\n",
    );
    let mut intra = Vec::new();
    for (label, target) in labels.targets.values() {
        match &target.intra_doc {
            Some(path) => intra.push(format!("[{label}]: {path}\n")),
            None => prelude.push_str(&format!("{ABSOLUTE}{label}\"\n")),
        }
    }
    intra.iter().for_each(|line| prelude.push_str(line));
    Ok((readme, prelude))
}

/// The pages rustdoc makes for the crate (all features) and for its dependencies (with the
/// features the crate turns on), and the crate's own pages in its default build.
struct Docs {
    all: PathBuf,
    default: PathBuf,
    /// Crate name (underscores) to package name, from Cargo.lock.
    packages: BTreeMap<String, String>,
}

impl Docs {
    fn build(root: &Path) -> Docs {
        let target = root.join("target/readme-links");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        for (dir, args) in [
            ("all", &["--no-deps", "--all-features"][..]),
            ("default", &[][..]),
        ] {
            eprintln!("documenting kadenz ({dir}) in target/readme-links/{dir}");
            let status = Command::new(&cargo)
                .current_dir(root)
                .args(["doc", "--locked", "-p", CRATE, "--target-dir"])
                .arg(target.join(dir))
                .args(args)
                .env_remove("RUSTDOCFLAGS")
                .status()
                .expect("cargo doc runs");
            assert!(status.success(), "cargo doc failed");
        }
        let lock = fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
        let packages = lock
            .lines()
            .filter_map(|line| line.strip_prefix("name = \""))
            .map(|name| name.trim_end_matches('"'))
            .map(|name| (name.replace('-', "_"), name.to_owned()))
            .collect();
        Docs {
            all: target.join("all/doc"),
            default: target.join("default/doc"),
            packages,
        }
    }

    /// The docs.rs page of `path` (relative to the crate root, or starting with a
    /// dependency's name), and whether the default build has it.
    fn resolve(&self, path: &str) -> Result<Target, String> {
        let segments: Vec<&str> = path.split("::").collect();
        let (krate, rest) = if segments.len() > 1 && self.default.join(segments[0]).is_dir() {
            (segments[0], &segments[1..])
        } else {
            (CRATE, &segments[..])
        };
        let root = if krate == CRATE {
            &self.all
        } else {
            &self.default
        };
        let page = find(&root.join(krate), rest).ok_or_else(|| {
            format!(
                "no such page in {} (is the path right?)",
                root.join(krate).display()
            )
        })?;
        let package = self
            .packages
            .get(krate)
            .ok_or_else(|| format!("{krate} is not in Cargo.lock"))?;
        let url = format!("https://docs.rs/{package}/latest/{krate}/{page}");
        // An intra-doc link only for an item of the crate's default build: rustdoc cannot
        // resolve a feature-gated item without its feature, and links an item of another
        // crate only where it knows that crate's documentation (not in a `--no-deps` build,
        // which prints the path as the link's target instead). The path is the page's, so
        // that an item named through a re-export gets the same one on every run.
        let in_default = krate == CRATE && find(&self.default.join(krate), rest).is_some();
        let intra_doc = docs_rs_item_path(&url, CRATE).filter(|_| in_default);
        Ok(Target { url, intra_doc })
    }
}

/// The page (and anchor) of the item `segments` in the documentation of one crate, `dir`:
/// a module (`policy/index.html`), an item (`policy/struct.SkipMissedAndDrift.html`), a
/// member of one (`struct.Timer.html#method.tick`), or an item that a module re-exports.
fn find(dir: &Path, segments: &[&str]) -> Option<String> {
    if segments.is_empty() {
        return Some("index.html".into());
    }
    let modules = &segments[..segments.len() - 1];
    let name = segments[segments.len() - 1];
    let module_dir: PathBuf = modules.iter().fold(dir.to_path_buf(), |d, m| d.join(m));
    let prefix = modules.iter().map(|m| format!("{m}/")).collect::<String>();
    if module_dir.join(name).join("index.html").is_file()
        && !is_redirect(&module_dir.join(name).join("index.html"))
    {
        return Some(format!("{prefix}{name}/index.html"));
    }
    for kind in markdown::ITEM_KINDS {
        let file = module_dir.join(format!("{kind}.{name}.html"));
        if file.is_file() {
            return canonical(dir, &file);
        }
    }
    // A re-export: the module's page links to where the item is documented.
    if let Ok(index) = fs::read_to_string(module_dir.join("index.html")) {
        let needle = format!("\">{name}</a>;</code>");
        if let Some(end) = index.find(&needle) {
            let code = &index[index[..end].rfind("<code>pub use ")?..end];
            let href = &code[code.rfind("href=\"")? + 6..];
            let href = &href[..href.find('"')?];
            if !href.starts_with("http") {
                let file = module_dir.join(href);
                return canonical(dir, &file);
            }
        }
    }
    // A member of the item that the path names without its last segment.
    if modules.is_empty() {
        return None;
    }
    let owner = find(dir, modules)?;
    if owner.contains('#') || owner.ends_with("index.html") {
        return None;
    }
    let html = fs::read_to_string(dir.join(&owner)).ok()?;
    markdown::MEMBER_KINDS
        .iter()
        .map(|kind| format!("{kind}.{name}"))
        .find(|id| html.contains(&format!("id=\"{id}\"")))
        .map(|id| format!("{owner}#{id}"))
}

fn is_redirect(file: &Path) -> bool {
    fs::read_to_string(file).is_ok_and(|html| html.contains("http-equiv=\"refresh\""))
}

/// The path of `file` relative to `dir`, after following a redirect page (rustdoc writes
/// one where an item is re-exported from a private module).
fn canonical(dir: &Path, file: &Path) -> Option<String> {
    let mut file = file.to_path_buf();
    for _ in 0..4 {
        let html = fs::read_to_string(&file).ok()?;
        let Some(at) = html.find("content=\"0;URL=") else {
            break;
        };
        let target = &html[at + "content=\"0;URL=".len()..];
        let target = &target[..target.find('"')?];
        file = normalize(&file.parent()?.join(target));
    }
    let relative = file.strip_prefix(dir).ok()?;
    Some(relative.to_string_lossy().replace('\\', "/"))
}

/// `a/b/../c` as `a/c`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
