use ndarray::Array2;

use super::*;

/// A row that is 0 everywhere except at the given `(channel, row, col)` entries.
fn row_with(entries: &[((usize, usize, usize), f32)]) -> ndarray::Array1<f32> {
    let mut w = ndarray::Array1::<f32>::zeros(3072);
    for &((c, r, col), v) in entries {
        // The CIFAR-10 record layout: 1024 red, then green, then blue, row-major.
        w[c * 1024 + r * 32 + col] = v;
    }
    w
}

#[test]
fn each_channel_lands_on_its_pixel() {
    let w = row_with(&[((0, 2, 5), 1.0), ((1, 7, 1), 1.0), ((2, 31, 30), 1.0)]);
    let img = template(w.view());
    assert_eq!(img.dimensions(), (32, 32));
    // get_pixel takes (x = column, y = row).
    assert_eq!(img.get_pixel(5, 2).0, [255, 0, 0]);
    assert_eq!(img.get_pixel(1, 7).0, [0, 255, 0]);
    assert_eq!(img.get_pixel(30, 31).0, [0, 0, 255]);
    assert_eq!(img.get_pixel(2, 5).0, [0, 0, 0]);
}

#[test]
fn each_template_is_scaled_on_its_own() {
    // Two rows on very different scales both span 0..=255, and the middle value
    // of each maps to the middle grey.
    for (lo, hi) in [(-0.001f32, 0.001f32), (-50.0, 150.0)] {
        let mid = 0.5 * (lo + hi);
        let mut w = ndarray::Array1::from_elem(3072, mid);
        w[0] = lo;
        w[1] = hi;
        let img = template(w.view());
        assert_eq!(img.get_pixel(0, 0).0[0], 0);
        assert_eq!(img.get_pixel(1, 0).0[0], 255);
        assert!(img.get_pixel(9, 9).0.iter().all(|&v| v == 128 || v == 127));
    }
    let constant = ndarray::Array1::from_elem(3072, 3.0f32);
    assert!(
        template(constant.view())
            .pixels()
            .all(|p| p.0 == [128, 128, 128])
    );
}

#[test]
fn upscaling_repeats_each_pixel_in_a_block() {
    let small = RgbImage::from_fn(2, 2, |x, y| Rgb([x as u8 * 100, y as u8 * 100, 7]));
    let big = upscale(&small, 4);
    assert_eq!(big.dimensions(), (8, 8));
    for (x, y, p) in big.enumerate_pixels() {
        assert_eq!(p, small.get_pixel(x / 4, y / 4), "at ({x}, {y})");
    }
}

fn names() -> Vec<String> {
    (0..10).map(|k| format!("class{k}")).collect()
}

#[test]
fn the_grid_holds_every_upscaled_template_and_its_label() {
    let w = Array2::from_shape_fn((10, 3072), |(k, i)| ((k * 7 + i) % 13) as f32);
    let png = grid_png(w.view(), &names(), 5, "templates").unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    let cell = SIDE * SCALE;
    assert_eq!(img.width(), GAP + 5 * (cell + GAP));
    assert_eq!(img.height(), TITLE + 2 * (cell + LABEL + GAP));
    // Template 6 (second row, second column) sits where the layout puts it.
    let (x, y) = (GAP + (cell + GAP), TITLE + (cell + LABEL + GAP));
    let expected = upscale(&template(w.row(6)), SCALE);
    for (px, py, p) in expected.enumerate_pixels() {
        assert_eq!(img.get_pixel(x + px, y + py), p);
    }
    // Its label is drawn (dark pixels) in the band below it.
    let dark = (y + cell..y + cell + LABEL)
        .flat_map(|yy| (x..x + cell).map(move |xx| (xx, yy)))
        .filter(|&(xx, yy)| img.get_pixel(xx, yy).0.iter().all(|&v| v < 100))
        .count();
    assert!(dark > 20, "label band has {dark} dark pixels");
}

#[test]
fn the_stack_has_one_row_per_run() {
    let a = Array2::from_shape_fn((10, 3072), |(k, i)| (k + i % 5) as f32);
    let b = a.mapv(|v| -v);
    let labels = vec!["run a".to_string(), "run b".to_string()];
    let png = stacked_png(&[a.view(), b.view()], &labels, &names(), "stack").unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    let cell = SIDE * SCALE;
    assert_eq!(img.height(), TITLE + LABEL + 2 * (cell + GAP) + GAP);
    let y = TITLE + LABEL + cell + GAP;
    let expected = upscale(&template(b.row(3)), SCALE);
    let x = 180 + 3 * (cell + GAP);
    assert_eq!(img.get_pixel(x + 9, y + 17), expected.get_pixel(9, 17));
}
