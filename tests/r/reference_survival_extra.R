#!/usr/bin/env Rscript
# Reference values for the additions of issue 14 to thuiszit_eval.survival: the log-rank
# statistic on a committed sample of random data sets, weighted log-rank (rho) and trend
# tests, delayed entry (left truncation) in every estimator, case weights, Cox predictions,
# baseline hazard, concordance, directly standardised curves and Fine-Gray with strata and
# predicted cumulative incidence.
#
# Usage: Rscript tests/r/reference_survival_extra.R [outdir]
#   outdir defaults to tests/fixtures/r_survival_extra (relative to the working directory).
#
# Every data set is exported as CSV (ds_<name>.csv); event coding as thuiszit_eval:
# 0 = censored, 1 = event of interest, 2, 3, ... = competing events.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r_survival_extra")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
wcsv <- function(x, name) write.csv(x, file.path(outdir, name), row.names = FALSE, na = "")
options(digits = 15)
ctl <- coxph.control(eps = 1e-10, iter.max = 100)

# ---------------------------------------------------------------- log-rank on random data
# 300 small data sets with heavy ties, 2-4 groups, some stratified; the issue's reproducer
# is data set 0. These are the data sets on which pinv/matrix_rank went wrong.
set.seed(20261205)
lr_data <- list(data.frame(id = 0, time = c(7, 4, 8, 1, 5, 10), status = c(0, 1, 1, 0, 1, 0),
                           group = c("b", "a", "b", "b", "b", "b"), strat = "s1"))
for (i in 1:300) {
  n <- sample(5:60, 1)
  k <- sample(2:4, 1)
  ns <- sample(c(1, 1, 2, 3), 1)
  d <- data.frame(id = i, time = sample(1:sample(c(5, 12, 40), 1), n, replace = TRUE),
                  status = rbinom(n, 1, runif(1, 0.3, 0.9)),
                  group = sample(letters[1:k], n, replace = TRUE),
                  strat = paste0("s", sample(1:ns, n, replace = TRUE)))
  if (sum(d$status) == 0) d$status[1] <- 1
  lr_data[[length(lr_data) + 1]] <- d
}
lr_data <- do.call(rbind, lr_data)
wcsv(lr_data, "ds_logrank_random.csv")
lr_res <- list()
for (i in unique(lr_data$id)) {
  d <- lr_data[lr_data$id == i, ]
  for (strat in c(FALSE, TRUE)) {
    if (strat && length(unique(d$strat)) < 2) next
    f <- if (strat) Surv(time, status) ~ group + strata(strat) else Surv(time, status) ~ group
    # survdiff stops when the reduced variance matrix is singular (a group whose pupils
    # are all at risk only in a stratum without comparison): such data sets are kept out
    sd <- tryCatch(survdiff(f, data = d), error = function(e) NULL)
    if (is.null(sd)) next
    ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
    df <- sum(ex > 0) - 1
    lr_res[[length(lr_res) + 1]] <- data.frame(
      id = i, stratified = strat, chisq = sd$chisq, df = df,
      p = if (df > 0) pchisq(sd$chisq, df, lower.tail = FALSE) else NA
    )
  }
}
wcsv(do.call(rbind, lr_res), "logrank_random.csv")

# ---------------------------------------------------------------- data sets
vet <- data.frame(
  id = seq_len(nrow(veteran)), time = as.numeric(veteran$time),
  status = as.integer(veteran$status), trt = veteran$trt,
  celltype = as.character(veteran$celltype), karno = veteran$karno, age = veteran$age
)
lung2 <- na.omit(data.frame(
  time = as.numeric(lung$time), status = as.integer(lung$status == 2),
  sex = lung$sex, age = lung$age, ph_ecog = lung$ph.ecog, inst = lung$inst
))
lung2$id <- seq_len(nrow(lung2))
lung2$female <- as.integer(lung2$sex == 2)
mg <- data.frame(
  id = mgus2$id,
  time = as.numeric(ifelse(mgus2$pstat == 0, mgus2$futime, mgus2$ptime)),
  status = as.integer(ifelse(mgus2$pstat == 0, 2 * mgus2$death, 1)),
  age = mgus2$age, male = as.integer(mgus2$sex == "M")
)
pb <- pbc[!is.na(pbc$trt), ]
pb <- data.frame(
  id = pb$id, time = as.numeric(pb$time),
  status = as.integer(ifelse(pb$status == 2, 1, ifelse(pb$status == 1, 2, 0))),
  trt = pb$trt, age = pb$age, bili = pb$bili, sex = as.character(pb$sex)
)
# delayed entry: a prevalent cohort seen from a later date. Entry times are whole days
# (ties with exits included), drawn once with a fixed seed and committed with the data.
set.seed(14)
lung2$entry <- floor(runif(nrow(lung2)) * 0.6 * lung2$time)
mg$entry <- floor(runif(nrow(mg)) * 0.5 * mg$time)
pb$entry <- floor(runif(nrow(pb)) * 0.5 * pb$time)
vet$entry <- floor(runif(nrow(vet)) * 0.5 * vet$time)
# case weights: fractional (R uses the robust IJ variance) and whole (Greenwood)
lung2$w <- round(runif(nrow(lung2), 0.3, 2.5), 3)
lung2$wi <- sample(1:3, nrow(lung2), replace = TRUE)
mg$w <- round(runif(nrow(mg), 0.3, 2.5), 3)
wcsv(vet, "ds_veteran.csv")
wcsv(lung2, "ds_lung.csv")
wcsv(mg, "ds_mgus2.csv")
wcsv(pb, "ds_pbc.csv")

strata_labels <- function(fit, n) {
  if (is.null(fit$strata)) return(rep("all", n))
  sub("^[^=]*=", "", rep(names(fit$strata), fit$strata))
}

# ---------------------------------------------------------------- weighted log-rank, trend
lr2 <- list()
add_lr2 <- function(name, test, sd, score_cox = NA) {
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  sc <- seq_along(obs)
  oe <- obs - ex
  trend <- sum(sc * oe)^2 / drop(t(sc) %*% sd$var %*% sc)
  df <- sum(ex > 0) - 1
  lr2[[length(lr2) + 1]] <<- data.frame(
    dataset = name, test = test, group = sub("^[^=]*=", "", names(sd$n)),
    observed = obs, expected = ex, chisq = sd$chisq, df = df,
    p = pchisq(sd$chisq, df, lower.tail = FALSE), trend_chisq = trend,
    trend_p = pchisq(trend, 1, lower.tail = FALSE), trend_coxph_exact = score_cox
  )
}
for (rho in c(0, 0.5, 1)) {
  sd <- survdiff(Surv(time, status) ~ celltype, data = vet, rho = rho)
  sc <- if (rho == 0) coxph(Surv(time, status) ~ as.numeric(factor(celltype)), data = vet,
                            ties = "exact", iter.max = 0)$score else NA
  add_lr2("veteran", paste0("celltype_rho", rho), sd, sc)
  add_lr2("veteran", paste0("trt_strata_celltype_rho", rho),
          survdiff(Surv(time, status) ~ trt + strata(celltype), data = vet, rho = rho))
  add_lr2("lung", paste0("ph_ecog_rho", rho),
          survdiff(Surv(time, status) ~ ph_ecog, data = lung2, rho = rho))
}
wcsv(do.call(rbind, lr2), "logrank_rho_trend.csv")

# ---------------------------------------------------------------- delayed entry
# log-rank with delayed entry: survdiff refuses (start, stop] data; the test is the score
# test at beta = 0 of the exact partial likelihood (hypergeometric variance)
lre <- list()
add_lre <- function(name, test, f, data, k) {
  fit <- coxph(f, data = data, ties = "exact", init = rep(0, k - 1), iter.max = 0)
  lre[[length(lre) + 1]] <<- data.frame(dataset = name, test = test, chisq = fit$score,
                                        df = k - 1)
}
add_lre("lung", "sex", Surv(entry, time, status) ~ factor(sex), lung2, 2)
add_lre("lung", "ph_ecog", Surv(entry, time, status) ~ factor(ph_ecog), lung2, 4)
add_lre("veteran", "trt_strata_celltype",
        Surv(entry, time, status) ~ factor(trt) + strata(celltype), vet, 2)
add_lre("pbc", "trt", Surv(entry, time, status == 1) ~ factor(trt), pb, 2)
# right-censored check: the same score test equals survdiff
add_lre("lung", "sex_no_entry", Surv(time, status) ~ factor(sex), lung2, 2)
wcsv(do.call(rbind, lre), "entry_logrank.csv")

km_rows <- list()
add_km <- function(name, fit, ct) {
  km_rows[[length(km_rows) + 1]] <<- data.frame(
    dataset = name, conf_type = ct, group = strata_labels(fit, length(fit$time)),
    time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
    surv = fit$surv, std_err = if (isTRUE(fit$logse)) fit$surv * fit$std.err else fit$std.err,
    lower = fit$lower, upper = fit$upper
  )
}
for (ct in c("log", "log-log")) {
  add_km("lung_entry", survfit(Surv(entry, time, status) ~ sex, data = lung2, conf.type = ct), ct)
  add_km("mgus2_entry", survfit(Surv(entry, time, status == 1) ~ 1, data = mg, conf.type = ct),
         ct)
  add_km("lung_w", survfit(Surv(time, status) ~ sex, data = lung2, weights = w,
                           conf.type = ct), ct)
  add_km("lung_wi", survfit(Surv(time, status) ~ sex, data = lung2, weights = wi,
                            conf.type = ct), ct)
  add_km("lung_entry_w", survfit(Surv(entry, time, status) ~ sex, data = lung2, weights = w,
                                 conf.type = ct), ct)
  add_km("lung_robust", survfit(Surv(time, status) ~ sex, data = lung2, robust = TRUE,
                                conf.type = ct), ct)
}
wcsv(do.call(rbind, km_rows), "km.csv")

# summary(fit, times=) with delayed entry: n.risk at a time counts entry < t <= exit
kt <- summary(survfit(Surv(entry, time, status) ~ sex, data = lung2),
              times = c(0, 5, 30, 91, 182, 365), extend = TRUE)
wcsv(data.frame(group = sub("^[^=]*=", "", as.character(kt$strata)), time = kt$time,
                n_risk = kt$n.risk, surv = kt$surv, lower = kt$lower, upper = kt$upper),
     "km_entry_times.csv")

aj_rows <- list()
add_aj <- function(name, fit) {
  g <- strata_labels(fit, length(fit$time))
  st <- fit$states
  for (k in seq_along(st)) {
    aj_rows[[length(aj_rows) + 1]] <<- data.frame(
      dataset = name, group = g, time = fit$time, state = st[k], n_risk = fit$n.risk[, 1],
      pstate = fit$pstate[, k], std_err = fit$std.err[, k], lower = fit$lower[, k],
      upper = fit$upper[, k]
    )
  }
}
mg$fstat <- factor(mg$status, levels = 0:2)
add_aj("mgus2_entry", survfit(Surv(entry, time, fstat) ~ 1, data = mg, id = id))
add_aj("mgus2_entry_male", survfit(Surv(entry, time, fstat) ~ male, data = mg, id = id))
add_aj("mgus2_w", survfit(Surv(time, fstat) ~ male, data = mg, weights = w, id = id))
add_aj("mgus2_entry_w", survfit(Surv(entry, time, fstat) ~ 1, data = mg, weights = w, id = id))
wcsv(do.call(rbind, aj_rows), "aj.csv")

# limits before a group's first exit: summary(times=) gives lower = upper = 0
ajs <- summary(survfit(Surv(time, fstat) ~ male, data = mg), times = c(0.5, 1, 2, 60))
aj_t <- list()
for (k in seq_along(ajs$states)) {
  aj_t[[k]] <- data.frame(group = sub("^[^=]*=", "", as.character(ajs$strata)),
                          time = ajs$time, state = ajs$states[k], pstate = ajs$pstate[, k],
                          std_err = ajs$std.err[, k], lower = ajs$lower[, k],
                          upper = ajs$upper[, k])
}
wcsv(do.call(rbind, aj_t), "aj_times.csv")

cox_rows <- list()
add_cox <- function(name, model, fit) {
  s <- summary(fit)$coefficients
  rob <- "robust se" %in% colnames(s)
  cox_rows[[length(cox_rows) + 1]] <<- data.frame(
    dataset = name, model = model, term = rownames(s), coef = s[, "coef"],
    se = s[, "se(coef)"], robust_se = if (rob) s[, "robust se"] else NA,
    loglik = fit$loglik[2]
  )
}
add_cox("lung", "entry", coxph(Surv(entry, time, status) ~ age + female + ph_ecog,
                               data = lung2, control = ctl))
add_cox("lung", "entry_cluster_inst",
        coxph(Surv(entry, time, status) ~ age + female + ph_ecog, data = lung2,
              cluster = inst, control = ctl))
add_cox("mgus2", "entry_cause_specific_1",
        coxph(Surv(entry, time, status == 1) ~ age + male, data = mg, control = ctl))
wcsv(do.call(rbind, cox_rows), "cox_entry.csv")

fg_rows <- list(); fg_tot <- list()
add_fg <- function(name, terms, pdata, strata = NULL) {
  rhs <- paste(c(terms, if (!is.null(strata)) paste0("strata(", strata, ")")), collapse = " + ")
  f <- as.formula(paste("Surv(fgstart, fgstop, fgstatus) ~", rhs))
  m1 <- coxph(f, data = pdata, weights = fgwt, control = ctl)
  m2 <- coxph(f, data = pdata, weights = fgwt, cluster = id, control = ctl)
  fg_rows[[length(fg_rows) + 1]] <<- data.frame(
    dataset = name, term = terms, coef = unname(coef(m1)),
    se_naive = unname(sqrt(diag(m1$naive.var))), se_robust = unname(sqrt(diag(m1$var))),
    se_cluster_id = unname(sqrt(diag(m2$var)))
  )
  fg_tot[[length(fg_tot) + 1]] <<- data.frame(
    dataset = name, nrow = nrow(pdata), sum_fgwt = sum(pdata$fgwt),
    sum_wt_stop = sum(pdata$fgwt * pdata$fgstop), sum_wt_start = sum(pdata$fgwt * pdata$fgstart),
    n_fgstatus = sum(pdata$fgstatus)
  )
  invisible(m2)
}
pb$fstat <- factor(pb$status, levels = 0:2)
p_entry <- finegray(Surv(entry, time, fstat) ~ ., data = pb[, c("id", "entry", "time", "fstat",
                                                              "age", "bili", "trt")],
                    id = id, etype = "1")
fg_pb_entry <- add_fg("pbc_entry", c("age", "bili", "trt"), p_entry)
# finegray() drops the strata() column from its output: a copy carries it to coxph
pbs <- pb[, c("id", "time", "fstat", "age", "bili", "sex")]
pbs$sex2 <- pbs$sex
p_strata <- finegray(Surv(time, fstat) ~ id + age + bili + sex2 + strata(sex), data = pbs,
                     etype = "1")
p_strata$sex <- p_strata$sex2
fg_pb_strata <- add_fg("pbc_strata_sex", c("age", "bili"), p_strata, strata = "sex")
fg_pb <- add_fg("pbc", c("age", "bili", "trt"),
                finegray(Surv(time, fstat) ~ ., data = pb[, c("id", "time", "fstat", "age",
                                                              "bili", "trt")], etype = "1"))
wcsv(do.call(rbind, fg_rows), "finegray.csv")
wcsv(do.call(rbind, fg_tot), "finegray_data.csv")

# ---------------------------------------------------------------- Cox predictions
pred_rows <- list()
add_pred <- function(name, fit, newdata, times) {
  s <- summary(survfit(fit, newdata = newdata), times = times, extend = TRUE)
  np <- nrow(newdata)
  sv <- matrix(s$surv, ncol = np); se <- matrix(s$std.err, ncol = np)
  lo <- matrix(s$lower, ncol = np); up <- matrix(s$upper, ncol = np)
  ch <- matrix(s$cumhaz, ncol = np)
  for (j in seq_len(np)) {
    pred_rows[[length(pred_rows) + 1]] <<- data.frame(
      dataset = name, profile = j - 1, time = s$time[seq_len(nrow(sv))],
      cumhaz = ch[, j], surv = sv[, j], std_err = se[, j] / if (isTRUE(s$logse)) 1 else 1,
      lower = lo[, j], upper = up[, j]
    )
  }
}
f_lung <- coxph(Surv(time, status) ~ age + female + ph_ecog, data = lung2, control = ctl)
prof <- data.frame(age = c(50, 65, 75), female = c(0, 1, 0), ph_ecog = c(0, 1, 2))
add_pred("lung", f_lung, prof, c(30, 91, 182, 365, 700))
f_lung_rob <- coxph(Surv(time, status) ~ age + female + ph_ecog, data = lung2,
                    cluster = inst, control = ctl)
add_pred("lung_cluster", f_lung_rob, prof, c(30, 91, 182, 365, 700))
f_lung_br <- coxph(Surv(time, status) ~ age + female + ph_ecog, data = lung2,
                   ties = "breslow", control = ctl)
add_pred("lung_breslow", f_lung_br, prof, c(30, 91, 182, 365, 700))
f_lung_e <- coxph(Surv(entry, time, status) ~ age + female + ph_ecog, data = lung2,
                  control = ctl)
add_pred("lung_entry", f_lung_e, prof, c(30, 91, 182, 365, 700))
f_lung_w <- coxph(Surv(time, status) ~ age + female + ph_ecog, data = lung2, weights = w,
                  control = ctl)
add_pred("lung_weights", f_lung_w, prof, c(30, 91, 182, 365, 700))
# predicted cumulative incidence from Fine-Gray fits: 1 - survfit(...)$surv
add_pred("fg_pbc", fg_pb, data.frame(age = c(40, 55), bili = c(1, 3), trt = c(1, 2)),
         c(365, 1000, 2000, 3000))
add_pred("fg_pbc_entry", fg_pb_entry, data.frame(age = c(40, 55), bili = c(1, 3),
                                                 trt = c(1, 2)), c(365, 1000, 2000, 3000))
wcsv(do.call(rbind, pred_rows), "cox_predict.csv")
# stratified: one curve per profile in its own stratum
sp <- list()
f_vs <- coxph(Surv(time, status) ~ trt + karno + age + strata(celltype), data = vet,
              control = ctl)
nd <- data.frame(trt = c(1, 2), karno = c(60, 80), age = c(60, 50),
                 celltype = c("large", "squamous"))
for (j in 1:2) {
  s <- summary(survfit(f_vs, newdata = nd[j, ]), times = c(10, 30, 90, 180), extend = TRUE)
  sp[[j]] <- data.frame(dataset = "veteran_strata", profile = j - 1,
                        strata = nd$celltype[j], time = s$time, cumhaz = s$cumhaz,
                        surv = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper)
}
fgs_nd <- data.frame(age = c(40, 55), bili = c(1, 3), sex = c("f", "m"))
for (j in 1:2) {
  s <- summary(survfit(fg_pb_strata, newdata = fgs_nd[j, ]), times = c(365, 1000, 2000),
               extend = TRUE)
  sp[[length(sp) + 1]] <- data.frame(dataset = "fg_pbc_strata", profile = j - 1,
                                     strata = fgs_nd$sex[j], time = s$time, cumhaz = s$cumhaz,
                                     surv = s$surv, std_err = s$std.err, lower = s$lower,
                                     upper = s$upper)
}
wcsv(do.call(rbind, sp), "cox_predict_strata.csv")

bh <- list()
for (cen in c(TRUE, FALSE)) {
  b <- basehaz(f_lung, centered = cen)
  bh[[length(bh) + 1]] <- data.frame(dataset = "lung", centered = cen, strata = "all",
                                     time = b$time, hazard = b$hazard)
  b <- basehaz(f_lung_w, centered = cen)
  bh[[length(bh) + 1]] <- data.frame(dataset = "lung_weights", centered = cen, strata = "all",
                                     time = b$time, hazard = b$hazard)
  b <- basehaz(f_vs, centered = cen)
  bh[[length(bh) + 1]] <- data.frame(dataset = "veteran_strata", centered = cen,
                                     strata = as.character(b$strata), time = b$time,
                                     hazard = b$hazard)
}
wcsv(do.call(rbind, bh), "cox_basehaz.csv")
wcsv(data.frame(dataset = c("lung", "veteran_strata"),
                means = c(paste(f_lung$means, collapse = ";"), paste(f_vs$means, collapse = ";"))),
     "cox_means.csv")

cc <- list()
add_cc <- function(name, fit) {
  k <- concordance(fit)
  cnt <- if (is.matrix(k$count)) colSums(k$count) else k$count  # per stratum: summed
  cc[[length(cc) + 1]] <<- data.frame(
    dataset = name, concordance = k$concordance, std_err = sqrt(k$var),
    concordant = cnt[["concordant"]], discordant = cnt[["discordant"]],
    tied_x = cnt[["tied.x"]], tied_y = cnt[["tied.y"]], tied_xy = cnt[["tied.xy"]]
  )
}
add_cc("lung", f_lung)
add_cc("lung_entry", f_lung_e)
add_cc("lung_weights", f_lung_w)
add_cc("veteran_strata", f_vs)
add_cc("mgus2", coxph(Surv(time, status == 1) ~ age + male, data = mg, control = ctl))
wcsv(do.call(rbind, cc), "cox_concordance.csv")

# directly standardised curves: the mean over the cohort of the predicted curves with the
# exposure set to each level (adjustedCurves' "direct" method)
adj <- list()
tt <- c(30, 91, 182, 365, 700)
for (lev in c(0, 1)) {
  d <- lung2; d$female <- lev
  s <- summary(survfit(f_lung, newdata = d), times = tt, extend = TRUE)
  adj[[length(adj) + 1]] <- data.frame(dataset = "lung", setting = paste0("female=", lev),
                                       time = tt, surv = rowMeans(s$surv))
}
wcsv(do.call(rbind, adj), "cox_adjusted.csv")

# ---------------------------------------------------------------- Gray's test (cuminc)
gt <- list()
add_gray <- function(name, ci) {
  tt <- ci$Tests
  gt[[length(gt) + 1]] <<- data.frame(dataset = name, cause = as.integer(rownames(tt)),
                                      chisq = tt[, "stat"], p = tt[, "pv"], df = tt[, "df"])
}
pb$agegrp <- cut(pb$age, c(0, 45, 55, 100), labels = c("a<45", "b45-55", "c55+"))
wcsv(pb[, c("id", "time", "status", "trt", "sex", "agegrp")], "ds_pbc_gray.csv")
add_gray("mgus2_male", cuminc(mg$time, mg$status, mg$male, cencode = 0))
add_gray("pbc_trt", cuminc(pb$time, pb$status, pb$trt, cencode = 0))
add_gray("pbc_agegrp", cuminc(pb$time, pb$status, pb$agegrp, cencode = 0))
add_gray("pbc_agegrp_rho1", cuminc(pb$time, pb$status, pb$agegrp, rho = 1, cencode = 0))
add_gray("pbc_agegrp_strata_sex", cuminc(pb$time, pb$status, pb$agegrp, strata = pb$sex,
                                         cencode = 0))
wcsv(do.call(rbind, gt), "gray_test.csv")

meta <- data.frame(
  key = c("R.version", "survival", "cmprsk", "generated_by"),
  value = c(R.version.string, as.character(packageVersion("survival")),
            as.character(packageVersion("cmprsk")), "tests/r/reference_survival_extra.R")
)
wcsv(meta, "metadata.csv")
cat("reference values written to", outdir, "\n")
