-- Placeholder: version 5 belongs to the translations change (user locale), developed
-- alongside. When both are merged, that change's 0005 file replaces this one.
SELECT 1;
