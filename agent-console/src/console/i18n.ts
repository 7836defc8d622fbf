import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './locales/en.ts';

const LANG_KEY = 'huike.lang';
export type Lang = 'zh' | 'en';

export const savedLang = (): Lang => (localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh');

// Chinese is written in the code and is its own key; English maps those keys (a missing one shows the Chinese).
void i18n.use(initReactI18next).init({
  lng: savedLang(),
  fallbackLng: 'zh',
  resources: { zh: { translation: {} }, en: { translation: en } },
  keySeparator: false,
  nsSeparator: false,
  interpolation: { escapeValue: false },
});

export function setLang(lang: Lang): void {
  localStorage.setItem(LANG_KEY, lang);
  void i18n.changeLanguage(lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export default i18n;
