fn main() {
    console_error_panic_hook::set_once();
    yew::Renderer::<distillate_app::app::App>::new().render();
}
