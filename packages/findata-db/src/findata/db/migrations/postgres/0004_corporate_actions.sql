-- Corporate actions: splits and cash dividends per symbol, keyed by (symbol, ex_date).
--
-- Keyed by the symbol's name, not symbols.symbol_id: actions may arrive before a
-- symbol's first bar (a symbols row needs a time zone and a kind of bars). Every
-- write of actions bumps data_version, so ETags and caches follow (ADR 0071).
-- A 4-for-1 split is split_from = 1, split_to = 4; a 1-for-10 reverse split 10, 1.

CREATE TABLE splits (
    symbol     text COLLATE "C" NOT NULL,
    ex_date    date NOT NULL,
    split_from double precision NOT NULL
        CHECK (split_from > 0 AND split_from < 'Infinity'::double precision),
    split_to   double precision NOT NULL
        CHECK (split_to > 0 AND split_to < 'Infinity'::double precision),
    PRIMARY KEY (symbol, ex_date)
);

CREATE TABLE dividends (
    symbol      text COLLATE "C" NOT NULL,
    ex_date     date NOT NULL,
    cash_amount double precision NOT NULL
        CHECK (cash_amount > 0 AND cash_amount < 'Infinity'::double precision),
    currency    text CHECK (currency ~ '^[A-Z]{3}$'),
    pay_date    date,
    record_date date,
    PRIMARY KEY (symbol, ex_date)
);
