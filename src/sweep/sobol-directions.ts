// Sobol direction numbers of Joe & Kuo, file new-joe-kuo-6.21201 (S. Joe and F. Y. Kuo, "Constructing
// Sobol sequences with better two-dimensional projections", SIAM J. Sci. Comput. 30 (2008) 2635–2654;
// https://web.maths.unsw.edu.au/~fkuo/sobol/), the same numbers scipy.stats.qmc.Sobol uses.
//
// One row per dimension 2, 3, …: [s, a, m_1, …, m_s] where s is the degree of the primitive polynomial,
// a encodes its inner coefficients and m_k are the initial direction integers. Dimension 1 is not in
// the file: all its m_k are 1 (the van der Corput sequence in base 2).
export const JOE_KUO_DIRECTIONS: readonly (readonly number[])[] = [
  /*  2 */ [1, 0, 1],
  /*  3 */ [2, 1, 1, 3],
  /*  4 */ [3, 1, 1, 3, 1],
  /*  5 */ [3, 2, 1, 1, 1],
  /*  6 */ [4, 1, 1, 1, 3, 3],
  /*  7 */ [4, 4, 1, 3, 5, 13],
  /*  8 */ [5, 2, 1, 1, 5, 5, 17],
  /*  9 */ [5, 4, 1, 1, 5, 5, 5],
  /* 10 */ [5, 7, 1, 1, 7, 11, 19],
  /* 11 */ [5, 11, 1, 1, 5, 1, 1],
  /* 12 */ [5, 13, 1, 1, 1, 3, 11],
  /* 13 */ [5, 14, 1, 3, 5, 5, 31],
  /* 14 */ [6, 1, 1, 3, 3, 9, 7, 49],
  /* 15 */ [6, 13, 1, 1, 1, 15, 21, 21],
  /* 16 */ [6, 16, 1, 3, 1, 13, 27, 49],
  /* 17 */ [6, 19, 1, 1, 1, 15, 7, 5],
  /* 18 */ [6, 22, 1, 3, 1, 15, 13, 25],
  /* 19 */ [6, 25, 1, 1, 5, 5, 19, 61],
  /* 20 */ [7, 1, 1, 3, 7, 11, 23, 15, 103],
  /* 21 */ [7, 4, 1, 3, 7, 13, 13, 15, 69],
  /* 22 */ [7, 7, 1, 1, 3, 13, 7, 35, 63],
  /* 23 */ [7, 8, 1, 3, 5, 9, 1, 25, 53],
  /* 24 */ [7, 14, 1, 3, 1, 13, 9, 35, 107],
  /* 25 */ [7, 19, 1, 3, 1, 5, 27, 61, 31],
  /* 26 */ [7, 21, 1, 1, 5, 11, 19, 41, 61],
  /* 27 */ [7, 28, 1, 3, 5, 3, 3, 13, 69],
  /* 28 */ [7, 31, 1, 1, 7, 13, 1, 19, 1],
  /* 29 */ [7, 32, 1, 3, 7, 5, 13, 19, 59],
  /* 30 */ [7, 37, 1, 1, 3, 9, 25, 29, 41],
  /* 31 */ [7, 41, 1, 3, 5, 13, 23, 1, 55],
  /* 32 */ [7, 42, 1, 3, 7, 3, 13, 59, 17],
];

/** Most parameters a Sobol sampler can have: dimension 1 plus the rows above. */
export const SOBOL_MAX_DIMS = JOE_KUO_DIRECTIONS.length + 1;
