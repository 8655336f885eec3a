"""One matplotlib style for every figure of the documentation.

The gallery (sphinx-gallery resets matplotlib before each example, to matplotlib's own
defaults, so the style is applied by :func:`reset_matplotlib`, its ``reset_modules`` hook) and
the user guide's ``.. plot::`` figures (``plot_rcparams`` in ``conf.py``) use the same settings.

Legibility at the page's width: a figure is shown at most as wide as the text column (about
800 CSS pixels), so a label of ``s`` points on a figure ``w`` inches wide reads at about
``s * 800 / (72 * w)`` pixels whatever the dpi. With 11-point tick labels, figures up to 11
inches wide (the widest in the gallery) keep their tick labels above 11 pixels. The images are
saved at 100 dpi, with a second copy at 200 dpi that high-density screens use
(``image_srcset`` ``"2x"``).
"""

RC_PARAMS = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (7.5, 4.2),
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "figure.titlesize": 13,
    "lines.linewidth": 1.8,
    "lines.markersize": 6,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def reset_matplotlib(gallery_conf, fname):
    """sphinx-gallery ``reset_modules`` hook: matplotlib's defaults, then our style."""
    import matplotlib

    matplotlib.rcdefaults()
    matplotlib.rcParams.update(RC_PARAMS)
