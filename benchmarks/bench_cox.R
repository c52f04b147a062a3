# Time one Cox / Fine-Gray fit in R on a CSV written by bench_cox.py.
#
# Usage: Rscript benchmarks/bench_cox.R data.csv {cox|cox_region|fg}
# Prints "SECONDS <elapsed>" (reading the CSV is not timed) and "COEF <18 coefficients>"
# in the order of the design's terms, so the Python side can check like for like.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
what <- args[2]
terms <- c("g_secondary", "g_special", "age", "type_b", "type_c", "type_d",
           sprintf("need_%02d", 0:11))
rhs <- paste(terms, collapse = " + ")
invisible(gc())

fit <- NULL
el <- system.time({
  fit <- switch(what,
    cox = coxph(as.formula(paste("Surv(t, e == 1) ~", rhs)), data = d, ties = "efron"),
    cox_region = coxph(as.formula(paste("Surv(t, e == 1) ~", rhs, "+ cluster(region)")),
                       data = d, ties = "efron"),
    fg = {
      fg <- finegray(Surv(t, factor(e)) ~ ., data = d[, c("id", "t", "e", terms)],
                     etype = "1")
      coxph(as.formula(paste("Surv(fgstart, fgstop, fgstatus) ~", rhs)), weights = fgwt,
            data = fg, cluster = id, ties = "efron")
    },
    stop("unknown fit: ", what))
})[["elapsed"]]

cat("SECONDS", format(el, digits = 6), "\n")
cat("COEF", format(coef(fit)[terms], digits = 15), "\n")
