//! Regenerates `config/service.schema.json` from the Rust types:
//! `cargo run -p app-config --example write-schema`.

fn main() -> std::io::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(app_config::SCHEMA_FILE);
    std::fs::write(&path, app_config::schema_text())?;
    println!("wrote {}", path.display());
    Ok(())
}
