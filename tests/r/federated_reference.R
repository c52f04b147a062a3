#!/usr/bin/env Rscript
# Reference values for thuiszit_eval.federated.combine: R's survdiff (log-rank), pooled and
# stratified, on the veteran data (4 cell types: df = 3, so the reduced system matters).
#
# Usage: Rscript tests/r/federated_reference.R [outdir]
#   outdir defaults to tests/fixtures/r_federated. The data are the veteran rows the
#   survival reference exports (tests/fixtures/r_survival/ds_veteran.csv).
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r_federated")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
options(digits = 15)
vet <- data.frame(
  time = as.numeric(veteran$time), status = as.integer(veteran$status),
  trt = veteran$trt, celltype = as.character(veteran$celltype)
)
one <- function(fit, name) {
  data.frame(test = name, group = sub("^celltype=", "", names(fit$n)),
             n = as.numeric(fit$n), observed = as.numeric(rowSums(as.matrix(fit$obs))),
             expected = as.numeric(rowSums(as.matrix(fit$exp))), chisq = fit$chisq,
             df = length(fit$n) - 1)
}
pooled <- survdiff(Surv(time, status) ~ celltype, data = vet)
strat <- survdiff(Surv(time, status) ~ celltype + strata(trt), data = vet)
# df as survdiff reports it (groups with expected > 0, minus 1)
pdf <- sum(pooled$exp > 0) - 1
out <- rbind(one(pooled, "pooled"), one(strat, "stratified_trt"))
out$df[out$test == "pooled"] <- pdf
out$df[out$test == "stratified_trt"] <- sum(rowSums(as.matrix(strat$exp)) > 0) - 1
write.csv(out, file.path(outdir, "survdiff.csv"), row.names = FALSE)
writeLines(as.character(packageVersion("survival")), file.path(outdir, "versions.txt"))
