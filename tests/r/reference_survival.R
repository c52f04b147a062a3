#!/usr/bin/env Rscript
# Reference values for thuiszit_eval.survival, computed with R's survival and cmprsk.
#
# Usage: Rscript tests/r/reference_survival.R [outdir]
#   outdir defaults to tests/fixtures/r_survival (relative to the working directory).
#
# Every dataset used is exported as CSV (ds_<name>.csv) so the Python tests never need R.
# Event coding in the exported data follows thuiszit_eval: 0 = censored, 1 = event of
# interest, 2, 3, ... = competing events.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r_survival")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
wcsv <- function(x, name) {
  # 15 significant digits: enough for 1e-6 / 1e-4 relative comparisons
  write.csv(x, file.path(outdir, name), row.names = FALSE, na = "")
}
options(digits = 15)

# ---------------------------------------------------------------- datasets
lung2 <- na.omit(data.frame(
  time = as.numeric(lung$time), status = as.integer(lung$status == 2),
  sex = lung$sex, age = lung$age, ph_ecog = lung$ph.ecog, inst = lung$inst
))
vet <- data.frame(
  time = as.numeric(veteran$time), status = as.integer(veteran$status),
  trt = veteran$trt, celltype = as.character(veteran$celltype),
  karno = veteran$karno, age = veteran$age, prior = veteran$prior
)
# mgus2: progression (1) is the event of interest, death before progression (2) competes
mg <- data.frame(
  id = mgus2$id,
  time = as.numeric(ifelse(mgus2$pstat == 0, mgus2$futime, mgus2$ptime)),
  status = as.integer(ifelse(mgus2$pstat == 0, 2 * mgus2$death, 1)),
  age = mgus2$age, male = as.integer(mgus2$sex == "M")
)
# pbc (randomised part): death = 1, transplant = 2 (competing)
pb <- pbc[!is.na(pbc$trt), ]
pb <- data.frame(
  id = pb$id, time = as.numeric(pb$time),
  status = as.integer(ifelse(pb$status == 2, 1, ifelse(pb$status == 1, 2, 0))),
  trt = pb$trt, age = pb$age, bili = pb$bili, edema = pb$edema, sex = as.character(pb$sex)
)
hrt <- data.frame(
  id = heart$id, start = heart$start, stop = heart$stop, event = heart$event,
  age = heart$age, year = heart$year, surgery = heart$surgery,
  transplant = as.integer(as.character(heart$transplant))
)
# small hand-made data set with heavy ties, competing events and ties between events
# and censorings
ties <- data.frame(
  id = 1:40,
  time = c(1, 1, 1, 2, 2, 2, 2, 3, 3, 5, 5, 5, 5, 5, 8, 8, 9, 10, 10, 10,
           1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 6, 6, 6, 7, 7, 9, 9, 10, 12, 12),
  status = c(1, 1, 0, 1, 2, 1, 0, 1, 1, 1, 0, 2, 1, 1, 0, 1, 2, 1, 0, 0,
             1, 0, 2, 2, 1, 1, 0, 1, 1, 2, 1, 1, 0, 1, 0, 1, 2, 1, 1, 0),
  group = rep(c("A", "B"), each = 20),
  x = c(0.5, -1, 0.2, 1.3, 0, -0.7, 2, 0.1, -0.3, 0.8, 1.1, -1.2, 0.4, 0, 0.9,
        -0.5, 1.5, 0.3, -0.8, 0.6, 1, 0.2, -0.4, 0.7, -1.1, 0.3, 0.5, 1.2, -0.6,
        0.1, 0.9, -0.2, 0.4, 1.4, -0.9, 0.2, 0.6, -0.3, 0.8, 0),
  cluster = rep(1:8, times = 5)
)
ties$strat <- ifelse(ties$id %% 3 == 0, "s1", "s2")

wcsv(lung2, "ds_lung.csv")
wcsv(vet, "ds_veteran.csv")
wcsv(mg, "ds_mgus2.csv")
wcsv(pb, "ds_pbc.csv")
wcsv(hrt, "ds_heart.csv")
wcsv(ties, "ds_ties.csv")

# (dataset, group column) pairs for the survival-curve references; "" = one curve
km_sets <- list(
  list(name = "lung", data = lung2, group = "sex", times = c(28, 91, 182, 365), tau = 365),
  list(name = "veteran", data = vet, group = "trt", times = c(28, 91, 182, 365), tau = 182),
  list(name = "pbc", data = pb, group = "trt", times = c(365, 1000, 2000, 4000), tau = 3000),
  list(name = "ties", data = ties, group = "group", times = c(1, 2, 5, 9, 11), tau = 8),
  list(name = "ties1", data = ties, group = "", times = c(1, 2, 5, 9, 11), tau = 8)
)

strata_labels <- function(fit, n) {
  if (is.null(fit$strata)) return(rep("all", n))
  sub("^[^=]*=", "", rep(names(fit$strata), fit$strata))
}

km_rows <- list(); q_rows <- list(); t_rows <- list(); rm_rows <- list()
for (s in km_sets) {
  d <- s$data
  d$ev <- as.integer(d$status == 1)  # competing events are censorings for KM
  f <- if (s$group == "") Surv(time, ev) ~ 1 else as.formula(paste("Surv(time, ev) ~", s$group))
  for (ct in c("log", "log-log", "plain", "logit")) {
    fit <- survfit(f, data = d, conf.type = ct)
    g <- strata_labels(fit, length(fit$time))
    km_rows[[length(km_rows) + 1]] <- data.frame(
      dataset = s$name, conf_type = ct, group = g, time = fit$time,
      n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
      surv = fit$surv, std_err_log = fit$std.err, std_err = fit$surv * fit$std.err,
      lower = fit$lower, upper = fit$upper
    )
    q <- quantile(fit, probs = c(0.25, 0.5, 0.75), conf.int = TRUE)
    qn <- if (is.null(fit$strata)) "all" else sub("^[^=]*=", "", names(fit$strata))
    qm <- matrix(q$quantile, nrow = length(qn))
    ql <- matrix(q$lower, nrow = length(qn))
    qu <- matrix(q$upper, nrow = length(qn))
    for (j in 1:3) {
      q_rows[[length(q_rows) + 1]] <- data.frame(
        dataset = s$name, conf_type = ct, group = qn, prob = c(0.25, 0.5, 0.75)[j],
        quantile = qm[, j], lower = ql[, j], upper = qu[, j]
      )
    }
    sm <- summary(fit, times = s$times, extend = TRUE)
    t_rows[[length(t_rows) + 1]] <- data.frame(
      dataset = s$name, conf_type = ct,
      group = if (is.null(sm$strata)) "all" else sub("^[^=]*=", "", as.character(sm$strata)),
      time = sm$time, n_risk = sm$n.risk, n_event = sm$n.event, n_censor = sm$n.censor,
      surv = sm$surv, std_err = sm$std.err, lower = sm$lower, upper = sm$upper
    )
    if (ct == "log") {
      tab <- summary(fit, rmean = s$tau)$table
      if (is.null(dim(tab))) tab <- t(as.matrix(tab))
      rm_rows[[length(rm_rows) + 1]] <- data.frame(
        dataset = s$name, group = qn, tau = s$tau, rmean = unname(tab[, "rmean"]),
        se = unname(tab[, "se(rmean)"]), median = unname(tab[, "median"]),
        median_lower = unname(tab[, "0.95LCL"]), median_upper = unname(tab[, "0.95UCL"])
      )
    }
  }
}
wcsv(do.call(rbind, km_rows), "km.csv")
wcsv(do.call(rbind, q_rows), "km_quantiles.csv")
wcsv(do.call(rbind, t_rows), "km_times.csv")
wcsv(do.call(rbind, rm_rows), "km_rmean.csv")

# ---------------------------------------------------------------- log-rank
lr_rows <- list(); lr_grp <- list()
add_lr <- function(name, label, sd) {
  p <- pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE)
  lr_rows[[length(lr_rows) + 1]] <<- data.frame(
    dataset = name, test = label, chisq = sd$chisq, df = length(sd$n) - 1, p = p
  )
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  lr_grp[[length(lr_grp) + 1]] <<- data.frame(
    dataset = name, test = label, group = sub("^[^=]*=", "", names(sd$n)),
    n = as.numeric(sd$n), observed = obs, expected = ex
  )
}
lung2$ev <- lung2$status
vet$ev <- vet$status
ties$ev <- as.integer(ties$status == 1)
pb$ev <- as.integer(pb$status == 1)
add_lr("lung", "plain", survdiff(Surv(time, ev) ~ sex, data = lung2))
add_lr("veteran", "plain", survdiff(Surv(time, ev) ~ trt, data = vet))
add_lr("veteran", "strata_celltype",
       survdiff(Surv(time, ev) ~ trt + strata(celltype), data = vet))
add_lr("veteran", "celltype_4groups", survdiff(Surv(time, ev) ~ celltype, data = vet))
add_lr("ties", "plain", survdiff(Surv(time, ev) ~ group, data = ties))
add_lr("ties", "strata_strat", survdiff(Surv(time, ev) ~ group + strata(strat), data = ties))
add_lr("pbc", "plain", survdiff(Surv(time, ev) ~ trt, data = pb))
wcsv(do.call(rbind, lr_rows), "logrank.csv")
wcsv(do.call(rbind, lr_grp), "logrank_groups.csv")

# ---------------------------------------------------------------- Aalen-Johansen
aj_rows <- list(); ci_rows <- list()
aj_sets <- list(
  list(name = "mgus2", data = mg, group = "", times = c(12, 60, 120, 240, 360)),
  list(name = "mgus2_sex", data = mg, group = "male", times = c(12, 60, 120, 240, 360)),
  list(name = "pbc", data = pb, group = "", times = c(365, 1000, 2000, 4000)),
  list(name = "ties", data = ties, group = "", times = c(1, 2, 5, 9)),
  list(name = "ties_group", data = ties, group = "group", times = c(1, 2, 5, 9))
)
for (s in aj_sets) {
  d <- s$data
  d$fstat <- factor(d$status, levels = sort(unique(d$status)))
  f <- if (s$group == "") Surv(time, fstat) ~ 1 else
    as.formula(paste("Surv(time, fstat) ~", s$group))
  fit <- survfit(f, data = d)  # conf.type "log" is the default
  g <- strata_labels(fit, length(fit$time))
  st <- fit$states
  for (k in seq_along(st)) {
    aj_rows[[length(aj_rows) + 1]] <- data.frame(
      dataset = s$name, group = g, time = fit$time, state = st[k],
      n_risk = fit$n.risk[, 1], pstate = fit$pstate[, k], std_err = fit$std.err[, k],
      lower = fit$lower[, k], upper = fit$upper[, k]
    )
  }
  grp <- if (s$group == "") NULL else d[[s$group]]
  ci <- if (is.null(grp)) cuminc(d$time, d$status, cencode = 0) else
    cuminc(d$time, d$status, group = grp, cencode = 0)
  tp <- timepoints(ci[names(ci) != "Tests"], s$times)
  for (nm in rownames(tp$est)) {
    parts <- strsplit(nm, " ")[[1]]
    ci_rows[[length(ci_rows) + 1]] <- data.frame(
      dataset = s$name,
      group = if (is.null(grp)) "all" else parts[1],
      cause = parts[length(parts)], time = s$times,
      est = tp$est[nm, ], var = tp$var[nm, ]
    )
  }
}
wcsv(do.call(rbind, aj_rows), "aj.csv")
wcsv(do.call(rbind, ci_rows), "cuminc.csv")

# ---------------------------------------------------------------- Cox models
cox_rows <- list(); zph_rows <- list()
add_cox <- function(name, model, fit) {
  s <- summary(fit)$coefficients
  rob <- "robust se" %in% colnames(s)
  cox_rows[[length(cox_rows) + 1]] <<- data.frame(
    dataset = name, model = model, term = rownames(s), coef = s[, "coef"],
    se = s[, "se(coef)"], robust_se = if (rob) s[, "robust se"] else NA,
    z = s[, "z"], p = s[, "Pr(>|z|)"], loglik = fit$loglik[2], n = fit$n, nevent = fit$nevent
  )
}
add_zph <- function(name, model, fit) {
  for (tr in c("km", "identity", "rank", "log")) {
    z <- cox.zph(fit, transform = tr)$table
    zph_rows[[length(zph_rows) + 1]] <<- data.frame(
      dataset = name, model = model, transform = tr, term = rownames(z),
      chisq = z[, "chisq"], df = z[, "df"], p = z[, "p"]
    )
  }
}
ctl <- coxph.control(eps = 1e-10, iter.max = 100)  # tight, for 1e-6 comparisons
f1 <- coxph(Surv(time, status) ~ age + sex + ph_ecog, data = lung2, control = ctl)
add_cox("lung", "efron", f1); add_zph("lung", "efron", f1)
add_cox("lung", "breslow", coxph(Surv(time, status) ~ age + sex + ph_ecog, data = lung2,
                                 ties = "breslow", control = ctl))
add_cox("lung", "robust", coxph(Surv(time, status) ~ age + sex + ph_ecog, data = lung2,
                                robust = TRUE, control = ctl))
add_cox("lung", "cluster_inst", coxph(Surv(time, status) ~ age + sex + ph_ecog, data = lung2,
                                      cluster = inst, control = ctl))
f2 <- coxph(Surv(time, status) ~ trt + karno + age, data = vet, control = ctl)
add_cox("veteran", "efron", f2); add_zph("veteran", "efron", f2)
f2s <- coxph(Surv(time, status) ~ trt + karno + age + strata(celltype), data = vet,
             control = ctl)
add_cox("veteran", "strata_celltype", f2s); add_zph("veteran", "strata_celltype", f2s)
f3 <- coxph(Surv(time, ev) ~ x + I(group == "B"), data = ties, control = ctl)
add_cox("ties", "efron", f3); add_zph("ties", "efron", f3)
add_cox("ties", "cluster", coxph(Surv(time, ev) ~ x + I(group == "B"), data = ties,
                                 cluster = cluster, control = ctl))
f4 <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = hrt,
            control = ctl)
add_cox("heart", "counting", f4); add_zph("heart", "counting", f4)
add_cox("heart", "counting_cluster_id",
        coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = hrt,
              cluster = id, control = ctl))
# cause-specific hazards: competing events censored
add_cox("mgus2", "cause_specific_1", coxph(Surv(time, status == 1) ~ age + male, data = mg,
                                           control = ctl))
add_cox("mgus2", "cause_specific_2", coxph(Surv(time, status == 2) ~ age + male, data = mg,
                                           control = ctl))
wcsv(do.call(rbind, cox_rows), "cox.csv")
wcsv(do.call(rbind, zph_rows), "cox_zph.csv")

# ---------------------------------------------------------------- Fine-Gray
fg_rows <- list(); fg_data <- list()
fg_sets <- list(
  list(name = "mgus2", data = mg, terms = c("age", "male")),
  list(name = "pbc", data = pb[, c("id", "time", "status", "age", "bili", "trt")],
       terms = c("age", "bili", "trt")),
  list(name = "ties", data = ties[, c("id", "time", "status", "x", "group")], terms = c("x"))
)
for (s in fg_sets) {
  d <- s$data[, c("id", "time", "status", s$terms)]
  d$fstat <- factor(d$status, levels = sort(unique(d$status)))
  pdata <- finegray(Surv(time, fstat) ~ ., data = d[, c("id", "time", "fstat", s$terms)],
                    etype = "1")
  # the expanded data: in full for the small set, as totals for the large ones
  fg_data[[length(fg_data) + 1]] <- data.frame(
    dataset = s$name, nrow = nrow(pdata), sum_fgwt = sum(pdata$fgwt),
    sum_wt_stop = sum(pdata$fgwt * pdata$fgstop), n_fgstatus = sum(pdata$fgstatus)
  )
  if (s$name == "ties") wcsv(pdata[, c("id", "fgstart", "fgstop", "fgstatus", "fgwt")],
                             "finegray_data_ties.csv")
  rhs <- paste(s$terms, collapse = " + ")
  fgf <- as.formula(paste("Surv(fgstart, fgstop, fgstatus) ~", rhs))
  m1 <- coxph(fgf, data = pdata, weights = fgwt, control = ctl)
  m2 <- coxph(fgf, data = pdata, weights = fgwt, cluster = id, control = ctl)
  # with non-integer weights coxph defaults to a robust (per-row sandwich) variance;
  # naive.var is the inverse information, cluster = id the per-subject sandwich
  fg_rows[[length(fg_rows) + 1]] <- data.frame(
    dataset = s$name, model = "finegray_coxph", term = s$terms, coef = unname(coef(m1)),
    se_naive = unname(sqrt(diag(m1$naive.var))), se_robust = unname(sqrt(diag(m1$var))),
    se_cluster_id = unname(sqrt(diag(m2$var)))
  )
  cov1 <- as.matrix(d[, s$terms, drop = FALSE])
  cr <- crr(d$time, d$status, cov1, failcode = 1, cencode = 0)
  fg_rows[[length(fg_rows) + 1]] <- data.frame(
    dataset = s$name, model = "crr", term = s$terms, coef = unname(cr$coef),
    se_naive = NA, se_robust = unname(sqrt(diag(cr$var))), se_cluster_id = NA
  )
}
wcsv(do.call(rbind, fg_rows), "finegray.csv")
wcsv(do.call(rbind, fg_data), "finegray_data.csv")

# ---------------------------------------------------------------- metadata
meta <- data.frame(
  key = c("R.version", "survival", "cmprsk", "generated_by"),
  value = c(R.version.string, as.character(packageVersion("survival")),
            as.character(packageVersion("cmprsk")), "tests/r/reference_survival.R")
)
wcsv(meta, "metadata.csv")
cat("reference values written to", outdir, "\n")
