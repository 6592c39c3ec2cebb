//! Names on an ESP32-C3 (RISC-V rv32imc, no FPU): its built-in USB-serial-JTAG port is the
//! console. Open it in any serial terminal (or `cargo run`, which flashes and opens espflash's
//! monitor) and each key pressed prints the next name. The integer model needs no FPU: the
//! names are the same bits as on the host, the Cortex-M cores and QEMU's RISC-V.
#![no_std]
#![no_main]

use board_names::Names;
use esp_backtrace as _;
use esp_hal::usb::usb_serial_jtag::UsbSerialJtag;
use runtime::{Model, ScratchBuf};

runtime::include_model!();

// The application descriptor the ESP-IDF second-stage bootloader checks before it starts us.
esp_bootloader_esp_idf::esp_app_desc!();

#[esp_hal::main]
fn main() -> ! {
    let peripherals = esp_hal::init(esp_hal::Config::default());
    let mut console = UsbSerialJtag::new(peripherals.USB_DEVICE);

    // The build script decoded and checked the model; this only slices the bytes.
    let Ok(model) = Model::from_map(model::BYTES, &model::MAP) else { panic!("the map is not this model's") };
    let net = match model::net(&model) {
        Ok(n) => n,
        Err(e) => panic!("{e}"),
    };
    let mut buf = ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
    let Ok(scratch) = buf.scratch(&net) else { panic!("the scratch is too small") };
    let mut names = Names::<_, { model::NAME_BYTES }>::new(&net, scratch);

    // Writing never fails on this port (the driver waits for the host to take each packet).
    let _ = console.write(b"makemore-embedded on the ESP32-C3: press any key for a name\r\n");
    loop {
        if console.read_byte().is_err() {
            continue;
        }
        // The build checked the model and the settings are the defaults: not expected.
        let line = names.next_name().unwrap_or("(the model failed: rebuild the firmware)");
        let _ = console.write(line.as_bytes());
        let _ = console.write(b"\r\n");
    }
}
