# Reference values for Rubin's rules: mice::pool.scalar on fixed sets of estimates and
# variances (m imputations), with the Barnard-Rubin small-sample degrees of freedom.
# Usage: Rscript tests/r/rubin_reference.R tests/fixtures/r_rubin
suppressMessages(library(mice))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "tests/fixtures/r_rubin"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
set.seed(20261205)
cases <- list(
  list(case = "small_m", Q = c(0.40, 0.44, 0.42), U = c(0.010, 0.012, 0.011), n = 500, k = 1),
  list(case = "m20", Q = 0.3 + rnorm(20, 0, 0.05), U = 0.004 + runif(20, 0, 0.001), n = 120, k = 14),
  list(case = "no_between", Q = rep(1.25, 5), U = rep(0.02, 5), n = 1000, k = 3),
  list(case = "large_n", Q = -0.2 + rnorm(10, 0, 0.02), U = 0.001 + runif(10, 0, 0.0002), n = 1e6, k = 10)
)
inputs <- do.call(rbind, lapply(cases, function(x)
  data.frame(case = x$case, imputation = seq_along(x$Q), Q = x$Q, U = x$U, n = x$n, k = x$k)))
res <- do.call(rbind, lapply(cases, function(x) {
  p <- pool.scalar(x$Q, x$U, n = x$n, k = x$k)
  data.frame(case = x$case, qbar = p$qbar, ubar = p$ubar, b = p$b, t = p$t, df = p$df,
             r = p$r, fmi = p$fmi)
}))
write.csv(inputs, file.path(out, "inputs.csv"), row.names = FALSE)
write.csv(res, file.path(out, "pool_scalar.csv"), row.names = FALSE)
