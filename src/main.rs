fn main() {
    std::process::exit(memreg::cli::main());
}
