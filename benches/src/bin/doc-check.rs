//! Builds every Rust example of the README and of the guide (`src/guide/*.md`) the way a
//! user pastes it: in a fresh crate whose dependencies are exactly those of the README's
//! Install section, with kadenz taken from this repository by path.
//!
//! ```text
//! cargo run -p kadenz-tools --bin doc-check [-- DIR]
//! ```
//!
//! A block's lines hidden in rustdoc (`# ...`) are left out: the user never sees them.
//! A block with a `#[tokio::test]` or `#[test]` becomes a test file of the crate, one with
//! a `fn main` an example, and any other one an example inside `fn main() { ... }`.
//! The Install section's TOML blocks are merged into the crate's manifest (features and
//! other arrays joined). Then `cargo test` builds the examples and runs the tests, and
//! every example is run (each must exit successfully within a minute). The crate lives
//! in `DIR` (default `target/doc-check`) with its own target directory, so a second run
//! rebuilds only what changed. It needs crates.io, as a user's crate does.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use toml::{Table, Value};

/// How long one example may run on the real clock.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A fenced code block of a Markdown file.
struct Block {
    info: String,
    code: String,
}

fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, Block)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(rest) = trimmed.strip_prefix("```") {
                    let indent = line[..line.len() - trimmed.len()].to_owned();
                    let info = rest.trim().to_owned();
                    let block = Block {
                        info,
                        code: String::new(),
                    };
                    open = Some(("```".to_owned(), indent, block));
                }
            }
            Some((fence, indent, block)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_end() == fence {
                    let (_, _, block) = open.take().expect("a block is open");
                    blocks.push(block);
                } else {
                    block
                        .code
                        .push_str(line.strip_prefix(indent.as_str()).unwrap_or(line));
                    block.code.push('\n');
                }
            }
        }
    }
    blocks
}

/// Whether rustdoc compiles a block with this info string as Rust and expects it to
/// build: no info string, or only rustdoc's own words (`rust`, `no_run`, ...), and
/// neither `ignore` nor `compile_fail`.
fn is_rust(info: &str) -> bool {
    let mut words = info.split([',', ' ']).filter(|w| !w.is_empty());
    let rustdoc = |w: &str| {
        matches!(w, "rust" | "no_run" | "should_panic" | "test_harness") || w.starts_with("edition")
    };
    words.all(rustdoc)
}

/// The lines a reader sees: rustdoc hides `# ` lines and a lone `#`, and turns `##` into `#`.
fn visible(code: &str) -> String {
    let mut out = String::new();
    for line in code.lines() {
        let trimmed = line.trim_start();
        if trimmed == "#" || trimmed.starts_with("# ") {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("##") {
            out.push_str(&line[..line.len() - trimmed.len()]);
            out.push('#');
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The part of the README under `## Install`, up to the next heading of that level.
fn install_section(readme: &str) -> Option<&str> {
    let start = readme.find("\n## Install")? + 1;
    let body = &readme[start..];
    let end = body[3..].find("\n## ").map_or(body.len(), |i| i + 3);
    Some(&body[..end])
}

/// Merges `from` into `into`: tables recursively, arrays joined without duplicates, a
/// dependency given as a version string widened to a table; anything else replaced.
fn merge(into: &mut Table, from: Table) {
    for (key, value) in from {
        match into.get_mut(&key) {
            None => {
                into.insert(key, value);
            }
            Some(existing) => merge_value(existing, value),
        }
    }
}

fn merge_value(existing: &mut Value, value: Value) {
    match (existing, value) {
        (Value::Table(a), Value::Table(b)) => merge(a, b),
        (Value::Array(a), Value::Array(b)) => {
            for item in b {
                if !a.contains(&item) {
                    a.push(item);
                }
            }
        }
        (existing @ Value::String(_), Value::Table(b)) => {
            let mut table = Table::new();
            table.insert("version".to_owned(), existing.clone());
            merge(&mut table, b);
            *existing = Value::Table(table);
        }
        (Value::Table(a), version @ Value::String(_)) => {
            a.insert("version".to_owned(), version);
        }
        (existing, value) => *existing = value,
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("doc-check: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent");
    let root = root.canonicalize().expect("the repository's root exists");
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| root.join("target/doc-check"), PathBuf::from);

    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let Some(install) = install_section(&readme) else {
        return fail("README.md has no `## Install` section");
    };
    let mut manifest: Table = toml::from_str(
        "[package]\nname = \"kadenz-doc-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[workspace]\n",
    )
    .expect("the package header parses");
    let mut install_blocks = 0;
    for block in fenced_blocks(install)
        .into_iter()
        .filter(|b| b.info == "toml")
    {
        match toml::from_str::<Table>(&block.code) {
            Ok(table) => merge(&mut manifest, table),
            Err(err) => return fail(format!("a TOML block of README.md's Install: {err}")),
        }
        install_blocks += 1;
    }
    if install_blocks == 0 {
        return fail("README.md's Install section has no ```toml block");
    }
    // kadenz from this repository, however the README names it (path, git or version).
    let mut found = false;
    for section in ["dependencies", "dev-dependencies"] {
        let Some(Value::Table(deps)) = manifest.get_mut(section) else {
            continue;
        };
        if let Some(kadenz) = deps.get_mut("kadenz") {
            merge_value(kadenz, Value::Table(Table::new()));
            let Value::Table(kadenz) = kadenz else {
                unreachable!("widened to a table")
            };
            kadenz.remove("git");
            kadenz.remove("version");
            kadenz.insert("path".to_owned(), Value::String(root.display().to_string()));
            found = true;
        }
    }
    if !found {
        return fail("README.md's Install section does not add kadenz");
    }

    let mut sources = vec![("readme".to_owned(), readme.clone())];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("src/guide"))
        .expect("src/guide")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    for page in pages {
        let stem = page
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&page).expect("a guide page");
        sources.push((format!("guide_{stem}"), text));
    }

    let _ = std::fs::remove_dir_all(dir.join("src"));
    let _ = std::fs::remove_dir_all(dir.join("tests"));
    let _ = std::fs::remove_dir_all(dir.join("examples"));
    for sub in ["src", "tests", "examples"] {
        std::fs::create_dir_all(dir.join(sub)).expect("the crate's directories");
    }
    let write = |path: PathBuf, contents: &str| {
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    write(
        dir.join("Cargo.toml"),
        &toml::to_string(&manifest).expect("the manifest"),
    );
    write(
        dir.join("src/lib.rs"),
        "//! The README's and the guide's examples.\n",
    );

    let (mut tests, mut examples) = (0, Vec::new());
    for (source, text) in &sources {
        let blocks = fenced_blocks(text).into_iter().filter(|b| is_rust(&b.info));
        for (n, block) in blocks.enumerate() {
            let name = format!("{source}_{}", n + 1);
            let code = visible(&block.code);
            if code.contains("#[tokio::test") || code.contains("#[test]") {
                write(dir.join(format!("tests/{name}.rs")), &code);
                tests += 1;
            } else if code.contains("fn main") {
                write(dir.join(format!("examples/{name}.rs")), &code);
                examples.push(name);
            } else {
                write(
                    dir.join(format!("examples/{name}.rs")),
                    &format!("fn main() {{\n{code}}}\n"),
                );
                examples.push(name);
            }
        }
    }
    println!(
        "doc-check: {} blocks ({tests} tests, {} examples) in {}",
        tests + examples.len(),
        examples.len(),
        dir.display()
    );

    let target = dir.join("target");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["test", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo runs");
    if !status.success() {
        return fail(format!("`cargo test` failed in {}", dir.display()));
    }
    for name in &examples {
        let binary = target.join("debug/examples").join(name);
        let started = Instant::now();
        let mut child = match Command::new(&binary).current_dir(&dir).spawn() {
            Ok(child) => child,
            Err(err) => return fail(format!("{}: {err}", binary.display())),
        };
        let status = loop {
            if let Some(status) = child.try_wait().expect("the example's status") {
                break Some(status);
            }
            if started.elapsed() > EXAMPLE_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        match status {
            Some(status) if status.success() => println!("doc-check: example {name}: ok"),
            Some(status) => return fail(format!("example {name}: {status}")),
            None => return fail(format!("example {name}: still running after a minute")),
        }
    }
    println!("doc-check: every block compiles, and every test and example passes");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_info_string_and_lose_their_list_indent() {
        let text =
            "a\n\n```rust\nlet x = 1;\n```\n\n- item\n\n  ```toml\n  [dependencies]\n  ```\n";
        let blocks = fenced_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            (blocks[0].info.as_str(), blocks[0].code.as_str()),
            ("rust", "let x = 1;\n")
        );
        assert_eq!(
            (blocks[1].info.as_str(), blocks[1].code.as_str()),
            ("toml", "[dependencies]\n")
        );
    }

    #[test]
    fn rust_blocks_are_those_rustdoc_compiles_and_shows() {
        for info in [
            "",
            "rust",
            "rust,no_run",
            "should_panic",
            "rust,edition2021",
        ] {
            assert!(is_rust(info), "{info:?}");
        }
        for info in [
            "text",
            "toml",
            "sh",
            "rust,ignore",
            "ignore",
            "compile_fail",
        ] {
            assert!(!is_rust(info), "{info:?}");
        }
    }

    #[test]
    fn hidden_lines_are_left_out_and_an_escaped_hash_kept() {
        let code = "# fn hidden() {}\n#\n#[derive(Debug)]\nstruct S;\n    ##[test] kept\n";
        assert_eq!(
            visible(code),
            "#[derive(Debug)]\nstruct S;\n    #[test] kept\n"
        );
    }

    #[test]
    fn the_install_section_ends_at_the_next_second_level_heading() {
        let readme = "# t\n\n## Install\n\n### Sub\n\nx\n\n## Features\n\ny\n";
        assert_eq!(
            install_section(readme),
            Some("## Install\n\n### Sub\n\nx\n")
        );
        assert_eq!(install_section("# t\n\n## Other\n"), None);
    }

    #[test]
    fn merging_joins_features_and_widens_a_version_string() {
        let mut into: Table = toml::from_str(
            "[dependencies]\nkadenz = { path = \"../kadenz\" }\ntoml = \"1\"\n\
             tokio = { version = \"1.49\", features = [\"time\", \"rt\"] }\n",
        )
        .unwrap();
        let from: Table = toml::from_str(
            "[dependencies]\nkadenz = { path = \"../kadenz\", features = [\"serde\"] }\n\
             toml = { version = \"1\", default-features = false }\n\
             tokio = { version = \"1.49\", features = [\"rt\", \"sync\"] }\n",
        )
        .unwrap();
        merge(&mut into, from);
        let expected: Table = toml::from_str(
            "[dependencies]\nkadenz = { path = \"../kadenz\", features = [\"serde\"] }\n\
             toml = { version = \"1\", default-features = false }\n\
             tokio = { version = \"1.49\", features = [\"time\", \"rt\", \"sync\"] }\n",
        )
        .unwrap();
        assert_eq!(into, expected);
    }
}
