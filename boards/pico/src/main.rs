//! Names on a Raspberry Pi Pico (RP2040): a USB serial port (CDC-ACM, no driver needed on
//! Linux, macOS or Windows 10+); open it in any serial terminal and each key pressed prints
//! the next name.
#![no_std]
#![no_main]

use board_names::{usb, Names};
use panic_halt as _;
use rp2040_hal as hal;
use runtime::{Model, ScratchBuf};
use usb_device::class_prelude::UsbBusAllocator;
use usb_device::device::{StringDescriptors, UsbDeviceBuilder, UsbVidPid};
use usbd_serial::SerialPort;

runtime::include_model!();

/// The second-stage boot loader for the Pico's W25Q080 flash, in the first 256 bytes.
#[link_section = ".boot2"]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The Pico's crystal.
const XTAL_FREQ_HZ: u32 = 12_000_000;

#[hal::entry]
fn main() -> ! {
    let Some(mut pac) = hal::pac::Peripherals::take() else { panic!() };
    let mut watchdog = hal::Watchdog::new(pac.WATCHDOG);
    let Ok(clocks) = hal::clocks::init_clocks_and_plls(
        XTAL_FREQ_HZ,
        pac.XOSC,
        pac.CLOCKS,
        pac.PLL_SYS,
        pac.PLL_USB,
        &mut pac.RESETS,
        &mut watchdog,
    ) else {
        panic!()
    };
    let bus = UsbBusAllocator::new(hal::usb::UsbBus::new(
        pac.USBCTRL_REGS,
        pac.USBCTRL_DPRAM,
        clocks.usb_clock,
        true,
        &mut pac.RESETS,
    ));
    let mut serial = SerialPort::new(&bus);
    // pid.codes' test VID/PID for CDC-ACM devices (0x16c0:0x27dd), as the rp-hal examples.
    let Ok(dev) = UsbDeviceBuilder::new(&bus, UsbVidPid(0x16c0, 0x27dd))
        .strings(&[StringDescriptors::default().manufacturer("makemore-embedded").product("names").serial_number("1")])
    else {
        panic!()
    };
    let mut dev = dev.device_class(usbd_serial::USB_CLASS_CDC).build();

    // The build script decoded and checked the model; this only slices the bytes.
    let Ok(model) = Model::from_map(model::BYTES, &model::MAP) else { panic!() };
    let Ok(net) = model::net(&model) else { panic!() };
    let mut buf = ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
    let Ok(scratch) = buf.scratch(&net) else { panic!() };
    let mut names = Names::<_, { model::NAME_BYTES }>::new(&net, scratch);
    usb::serve(&mut dev, &mut serial, &mut names, "Raspberry Pi Pico")
}
