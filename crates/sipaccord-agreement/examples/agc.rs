//! Compiles a file and prints diagnostics and the contract (a development aid).
fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let src = std::fs::read_to_string(&path).unwrap_or_default();
    let c = sipaccord_agreement::compile(&src, &path);
    print!("{}", sipaccord_agreement::render(&c.diagnostics, &src, &path, false));
    if let Some(k) = &c.contract {
        println!("{}", serde_json::to_string_pretty(k).unwrap_or_default());
        println!("{}", sipaccord_agreement::sheet(k, sipaccord_agreement::SheetFormat::Markdown));
    }
    match sipaccord_agreement::format(&src) {
        Ok(f) => println!("--- formatted ---\n{f}"),
        Err(_) => println!("--- no format ---"),
    }
}
