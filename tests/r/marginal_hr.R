#!/usr/bin/env Rscript
# Reference values for thuiszit_eval.effects.marginal_hr: the weighted Cox model of the
# arm on counting-process data (one row per clone and day), Breslow ties, robust variance
# clustered on pupils -- the model the clone-censor-weight emulation reports as its
# hazard ratio.
#
# Usage: Rscript tests/r/marginal_hr.R [fixdir] [outdir]
#   fixdir (default tests/fixtures/r_marginal_hr) holds the data sets ds_*.csv(.gz) that
#   tests/test_effects_marginal_hr.py writes; outdir (default fixdir) gets
#   marginal_hr.csv and metadata.csv.
#
# Columns of a data set: cluster, arm (1 = A, 0 = B), start, stop, event, w.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
fixdir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r_marginal_hr")
outdir <- if (length(args) >= 2) args[2] else fixdir
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
options(digits = 15)

fit_case <- function(file) {
  d <- read.csv(file.path(fixdir, file))
  f <- coxph(Surv(start, stop, event) ~ arm, data = d, weights = w, cluster = cluster,
             ties = "breslow")
  data.frame(case = sub("\\.csv(\\.gz)?$", "", sub("^ds_", "", file)),
             coef = unname(coef(f)), se_robust = sqrt(f$var[1, 1]),
             se_naive = sqrt(f$naive.var[1, 1]), n_rows = nrow(d),
             n_events = sum(d$event), loglik = f$loglik[2])
}
files <- sort(list.files(fixdir, pattern = "^ds_.*\\.csv(\\.gz)?$"))
out <- do.call(rbind, lapply(files, fit_case))
write.csv(out, file.path(outdir, "marginal_hr.csv"), row.names = FALSE)
meta <- data.frame(key = c("R", "survival"),
                   value = c(R.version.string, as.character(packageVersion("survival"))))
write.csv(meta, file.path(outdir, "metadata.csv"), row.names = FALSE)
