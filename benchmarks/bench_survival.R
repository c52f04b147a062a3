# Time one survival fit in R on a CSV written by bench_survival.py.
#
# Usage: Rscript benchmarks/bench_survival.R data.csv {km|aj|cox|fg}
# Prints "SECONDS <elapsed>" (reading the CSV is not timed) and, for cox and fg,
# "COEF <x1> <x2> <x3>" so the Python side can check the fits are like for like.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(id = "integer", t = "numeric", e = "integer",
                                       g = "character", x1 = "numeric", x2 = "numeric",
                                       x3 = "numeric", region = "integer"))
what <- args[2]
invisible(gc())

fit <- NULL
el <- system.time({
  fit <- switch(what,
    km = survfit(Surv(t, e == 1) ~ g, data = d),
    aj = survfit(Surv(t, factor(e)) ~ g, data = d),
    cox = coxph(Surv(t, e == 1) ~ x1 + x2 + x3 + cluster(region), data = d,
                ties = "efron"),
    fg = {
      fg <- finegray(Surv(t, factor(e)) ~ ., data = d[, c("id", "t", "e", "x1", "x2", "x3")],
                     etype = "1")
      coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + x2 + x3, weights = fgwt, data = fg,
            cluster = id, ties = "efron")
    },
    stop("unknown fit: ", what))
})[["elapsed"]]

cat("SECONDS", format(el, digits = 6), "\n")
if (what %in% c("cox", "fg")) cat("COEF", format(coef(fit), digits = 15), "\n")
