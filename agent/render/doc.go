// Package render draws an ESC/POS job as the printer would print it: a
// white strip of paper PaperDots wide (384 dots for 58 mm, 576 for 80 mm)
// with text in the sizes, emphasis and alignment the job selects, Chinese
// text through a CJK font found on the system, raster images (GS v 0,
// ESC *, GS ( L / GS 8 L), barcodes as bars, native QR codes as real,
// scannable QR codes, and a dashed tear line at every cut.
//
// It is how tests, the demo's preview printer and the status page see a
// job. Drawing is approximate where a printer's behaviour is (page mode is
// drawn as if in standard mode, stored logos and 2D codes other than QR as
// labelled boxes) and bounded on huge or broken jobs: the picture stops at
// Options.MaxHeight with a note saying why, and every problem is returned
// as a warning rather than an error.
//
// Characters the font cannot draw become boxes, with a warning; when no
// CJK font is installed (Debian: fonts-wqy-microhei or fonts-noto-cjk)
// ASCII is drawn with a basic built-in font and everything else as boxes.
package render
