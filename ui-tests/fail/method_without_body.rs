#![allow(unused)]
trait Store {
    #[spanwright::span]
    fn get(&self) -> u8;
}

fn main() {}
